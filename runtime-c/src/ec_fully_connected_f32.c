/* float32 fully connected layer in TFLite's reference order (depth in order, bias added last). */
#include "ec_nn.h"

EC_NO_FP_CONTRACT

void ec_fully_connected_f32(const ec_fully_connected_f32_params *p, const float *input, float *output)
{
    for (int32_t r = 0; r < p->rows; r++, input += p->depth, output += p->units) {
        for (int32_t u = 0; u < p->units; u++) {
            const float *weights = p->weights + u * p->depth;
            float total = 0.0f;
            for (int32_t k = 0; k < p->depth; k++) total += input[k] * weights[k];
            output[u] = ec_clamp_f32(total + p->bias[u], p->act_min, p->act_max);
        }
    }
}
