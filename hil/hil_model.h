/*
 * What a HIL firmware knows of its model. edgec generates hil_model.c for each build; the HIL
 * agent (hil_agent.c) and the MLPerf Tiny DUT (mlperf_tiny.c) are written against this only,
 * so they compile once for every model.
 */
#ifndef EDGEC_HIL_MODEL_H
#define EDGEC_HIL_MODEL_H

#include <stdint.h>

#include "hil_protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One model input or output. scale and zero_point are 1 and 0 for an unquantized tensor. */
struct hil_tensor {
    uint32_t bytes;
    uint8_t dtype; /* HIL_DTYPE_* */
    float scale;
    int32_t zero_point;
};

struct hil_model {
    const char *name;
    const char *board;
    /* The first bytes of the SHA-256 of the build's model.tflite: the host checks it. */
    uint8_t hash[8];
    uint32_t arena_bytes;
    uint32_t clock_hz;
    uint32_t input_count;
    uint32_t output_count;
    const struct hil_tensor *inputs;
    const struct hil_tensor *outputs;
    /* The generated model's own entry points (both buffers live inside its arena, so an input
     * may share bytes with an output: write the inputs, invoke, then read the outputs). */
    void *(*input)(int index);
    void *(*output)(int index);
    void (*invoke)(void);
    /* Clears the state recurrent layers carry from one invoke to the next. */
    void (*reset)(void);
    /* A profiling build's cycles per op of the last inference (edgec build --profile); else 0 and NULL. */
    uint32_t layer_count;
    const uint32_t *layer_cycles;
};

extern const struct hil_model hil_model;

#ifdef __cplusplus
}
#endif

#endif
