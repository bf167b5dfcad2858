/*
 * The HIL agent: serves the host's samples over the console UART.
 *
 * Frames are COBS-encoded and end with 0x00; a decoded frame is
 *   type (u8) | seq (u16 LE) | payload | CRC-32 of the bytes before it (u32 LE)
 * (hil_protocol.h has the numbers; src/device/protocol.ts defines them). The agent keeps no state
 * between frames: every good INPUT is run and answered with an OUTPUT carrying the same seq, so a
 * host that lost an answer simply sends the sample again. Anything it cannot use gets an ERROR.
 *
 * RAM: no receive buffer. Input bytes are decoded straight into the model's input tensors while
 * the CRC is computed; a frame that then fails its CRC is answered with an ERROR and never run,
 * so a corrupted sample only ever costs a retry. The transmit side keeps one 254-byte COBS block.
 */
#include <stdint.h>

#include "board.h"
#include "hil_model.h"
#include "hil_protocol.h"

#define COBS_MAX_BLOCK 254u

static const uint32_t crc_table[16] = HIL_CRC32_NIBBLE_TABLE;

static uint32_t crc_update(uint32_t crc, uint8_t byte) {
    crc ^= byte;
    crc = (crc >> 4) ^ crc_table[crc & 0xFu];
    return (crc >> 4) ^ crc_table[crc & 0xFu];
}

/* ---- Sending: one frame at a time, encoded as it is written. ---- */

static struct {
    uint8_t block[COBS_MAX_BLOCK];
    uint32_t used;
    uint32_t crc;
} tx;

static void tx_flush_block(void) {
    uint8_t code = (uint8_t)(tx.used + 1u);
    board_uart_write(&code, 1u);
    board_uart_write(tx.block, tx.used);
    tx.used = 0;
}

static void tx_encoded(uint8_t byte) {
    if (byte == 0u) {
        tx_flush_block();
        return;
    }
    tx.block[tx.used++] = byte;
    if (tx.used == COBS_MAX_BLOCK) tx_flush_block();
}

static void tx_put(const void *data, uint32_t len) {
    const uint8_t *p = data;
    for (uint32_t i = 0; i < len; i++) {
        tx.crc = crc_update(tx.crc, p[i]);
        tx_encoded(p[i]);
    }
}

static void tx_u8(uint8_t v) { tx_put(&v, 1u); }

static void tx_u16(uint16_t v) {
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    tx_put(b, 2u);
}

static void tx_u32(uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    tx_put(b, 4u);
}

/* A leading delimiter ends whatever partial frame the host may hold after line noise. */
static void tx_begin(uint8_t type, uint16_t seq) {
    static const uint8_t delimiter = 0;
    board_uart_write(&delimiter, 1u);
    tx.used = 0;
    tx.crc = 0xFFFFFFFFu;
    tx_u8(type);
    tx_u16(seq);
}

static void tx_end(void) {
    static const uint8_t delimiter = 0;
    uint32_t crc = ~tx.crc;
    for (unsigned i = 0; i < 4u; i++) tx_encoded((uint8_t)(crc >> (8u * i)));
    tx_flush_block();
    board_uart_write(&delimiter, 1u);
}

static void tx_name(const char *s) {
    uint32_t n = 0;
    while (s[n] != '\0' && n < 255u) n++;
    tx_u8((uint8_t)n);
    tx_put(s, n);
}

static void send_hello(void) {
    tx_begin(HIL_MSG_HELLO, HIL_NO_SEQ);
    tx_u16(HIL_PROTOCOL_VERSION);
    tx_put(hil_model.hash, sizeof hil_model.hash);
    tx_u32(hil_model.arena_bytes);
    tx_u32(hil_model.clock_hz);
    tx_u8((uint8_t)hil_model.input_count);
    tx_u8((uint8_t)hil_model.output_count);
    for (uint32_t k = 0; k < hil_model.input_count; k++) {
        tx_u32(hil_model.inputs[k].bytes);
        tx_u8(hil_model.inputs[k].dtype);
    }
    for (uint32_t k = 0; k < hil_model.output_count; k++) {
        tx_u32(hil_model.outputs[k].bytes);
        tx_u8(hil_model.outputs[k].dtype);
    }
    tx_name(hil_model.board);
    tx_name(hil_model.name);
    tx_name(board_cycles_source());
    tx_u16((uint16_t)hil_model.layer_count);
    tx_end();
}

static void send_error(uint16_t seq, uint8_t code, const char *why) {
    tx_begin(HIL_MSG_ERROR, seq);
    tx_u8(code);
    uint32_t n = 0;
    while (why[n] != '\0') n++;
    tx_put(why, n);
    tx_end();
}

static void run_sample(uint16_t seq) {
    uint32_t start = board_cycles();
    hil_model.invoke();
    uint32_t cycles = board_cycles() - start;
    tx_begin(HIL_MSG_OUTPUT, seq);
    tx_u32(cycles);
    for (uint32_t k = 0; k < hil_model.output_count; k++) {
        tx_put(hil_model.output((int)k), hil_model.outputs[k].bytes);
    }
    for (uint32_t k = 0; k < hil_model.layer_count; k++) {
        tx_u32(hil_model.layer_cycles[k]);
    }
    tx_end();
}

/* ---- Receiving: COBS decoded byte by byte, the CRC kept four bytes behind. ---- */

static struct {
    uint32_t block_left;   /* data bytes still to come in this COBS block; 0: a code byte is next */
    uint8_t zero_pending;  /* the block ends in a zero unless the frame ends first */
    uint32_t decoded;      /* bytes decoded so far */
    uint8_t tail[4];       /* the last four decoded bytes: the CRC once the frame ends */
    uint32_t crc;          /* over the bytes that have left `tail` */
    uint8_t type;
    uint16_t seq;
    uint32_t payload;      /* payload bytes seen (whether stored or not) */
    uint8_t *dst;          /* where the next input byte goes */
    uint32_t dst_left;
    uint32_t next_input;
} rx;

static uint32_t input_bytes;

static void rx_reset(void) {
    rx.block_left = 0;
    rx.zero_pending = 0;
    rx.decoded = 0;
    rx.crc = 0xFFFFFFFFu;
    rx.payload = 0;
    rx.dst_left = 0;
    rx.next_input = 0;
}

/* A byte of the frame body known not to be part of the CRC. */
static void rx_commit(uint32_t at, uint8_t byte) {
    rx.crc = crc_update(rx.crc, byte);
    if (at == 0u) {
        rx.type = byte;
    } else if (at < HIL_HEADER_BYTES) {
        rx.seq = (uint16_t)(at == 1u ? byte : rx.seq | (uint16_t)(byte << 8));
    } else {
        if ((rx.type == HIL_MSG_INPUT || rx.type == HIL_MSG_INPUT_CARRY) && rx.payload < input_bytes) {
            /* A loop, not an if: an input of no bytes (a zero dimension) takes none. One with
             * bytes follows, since fewer than input_bytes have been stored. */
            while (rx.dst_left == 0u) {
                rx.dst = hil_model.input((int)rx.next_input);
                rx.dst_left = hil_model.inputs[rx.next_input].bytes;
                rx.next_input++;
            }
            *rx.dst++ = byte;
            rx.dst_left--;
        }
        rx.payload++;
    }
}

static void rx_decoded(uint8_t byte) {
    uint32_t slot = rx.decoded & 3u;
    if (rx.decoded >= 4u) rx_commit(rx.decoded - 4u, rx.tail[slot]);
    rx.tail[slot] = byte;
    rx.decoded++;
}

static void rx_frame_end(void) {
    if (rx.block_left != 0u) {
        send_error(HIL_NO_SEQ, HIL_ERROR_FRAMING, "frame ended inside a COBS block");
        return;
    }
    if (rx.decoded < HIL_HEADER_BYTES + HIL_CRC_BYTES) {
        send_error(HIL_NO_SEQ, HIL_ERROR_LENGTH, "frame shorter than header and CRC");
        return;
    }
    uint32_t got = 0;
    for (uint32_t i = 0; i < 4u; i++) got |= (uint32_t)rx.tail[(rx.decoded + i) & 3u] << (8u * i);
    if (got != ~rx.crc) {
        send_error(HIL_NO_SEQ, HIL_ERROR_CRC, "CRC mismatch");
        return;
    }
    switch (rx.type) {
    case HIL_MSG_HELLO_REQUEST:
        if (rx.payload != 0u) {
            send_error(rx.seq, HIL_ERROR_LENGTH, "hello request carries no payload");
        } else {
            send_hello();
        }
        break;
    case HIL_MSG_INPUT:
    case HIL_MSG_INPUT_CARRY:
        if (rx.payload != input_bytes) {
            send_error(rx.seq, HIL_ERROR_LENGTH, "input payload is not the model's input size");
        } else {
            /* Each INPUT is a sample of its own; INPUT_CARRY continues the stream of the last one. */
            if (rx.type == HIL_MSG_INPUT) hil_model.reset();
            run_sample(rx.seq);
        }
        break;
    default:
        send_error(rx.seq, HIL_ERROR_TYPE, "unknown message type");
        break;
    }
}

static void rx_byte(uint8_t byte) {
    if (byte == 0u) {
        if (rx.decoded != 0u || rx.block_left != 0u) rx_frame_end();
        rx_reset();
        return;
    }
    if (rx.block_left != 0u) {
        rx_decoded(byte);
        rx.block_left--;
        return;
    }
    if (rx.zero_pending) rx_decoded(0u);
    rx.block_left = byte - 1u;
    rx.zero_pending = byte != 0xFFu;
}

int main(void) {
    board_init();
    for (uint32_t k = 0; k < hil_model.input_count; k++) input_bytes += hil_model.inputs[k].bytes;
    rx_reset();
    send_hello();
    for (;;) rx_byte((uint8_t)board_uart_read_byte());
}
