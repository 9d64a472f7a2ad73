/* core/opret_py.h -- a read-only decoder for the 160-byte OP_RETURN records
 * of the seed's public Python implementation (github.com/elfateh4/PoUW,
 * pouw/blockchain/standardized_format.py; "pouw-py" below).
 *
 * Those records share this project's envelope (core/opret.h): version 1,
 * the same op code numbers, u32 timestamp, 20-byte node id hash, 32-byte
 * task id hash, a 98-byte payload area, and the big-endian CRC-32 (zlib) of
 * bytes 0..155 at offset 156.  They differ in three ways:
 *   - payload: the producer serialises a dict as compact JSON
 *     (separators "," and ":"), compresses it with zlib at level 9 (a
 *     two-byte RFC 1950 header, 0x78 0xda, raw deflate, Adler-32), keeps the
 *     first 98 bytes of the stream -- silently cutting longer ones -- and
 *     pads with zero bytes;
 *   - its reader strips every trailing zero byte of the area before
 *     inflating, so a stream whose own last byte is zero (an Adler-32 ending
 *     in 0x00: one stream in 256) loses it and no longer inflates;
 *   - hashes: node id = SHA-1 of the node id *text*, task id = SHA-256 of
 *     the task id *text* (UTF-8), where this format hashes the 33-byte
 *     public key and the raw 32-byte task id.  The hashes are copied as
 *     they are: they cannot be checked without the texts.
 *
 * This decoder inflates the whole area without stripping anything, so it
 * reads every record the producer wrote, including those its own reader
 * fails on, and says which case it met (pu_opret_py_status).  Nothing here
 * writes such records: pouwsim never produces them. */
#ifndef PU_OPRET_PY_H
#define PU_OPRET_PY_H

#include "core/types.h"

/* Largest inflated payload accepted: deflate can expand 98 bytes to a few
 * kilobytes of repetitive text; JSON a producer meant to fit is far smaller. */
#define PU_OPRET_PY_TEXT_MAX 4096u

typedef enum pu_opret_py_status {
    PU_OPRET_PY_OK = 0,          /* the whole stream lies in the area, zero padding after it */
    PU_OPRET_PY_CUT = 1,         /* the stream is valid but runs past the area: the producer
                                  * cut it at 98 bytes; text holds what inflates (a prefix) */
    PU_OPRET_PY_E_LENGTH = 2,    /* not exactly 160 bytes */
    PU_OPRET_PY_E_CRC = 3,       /* CRC-32 of bytes 0..155 does not match */
    PU_OPRET_PY_E_VERSION = 4,   /* version byte is not 1 */
    PU_OPRET_PY_E_OPCODE = 5,    /* op code outside 1..8 (the producer's enum refuses it) */
    PU_OPRET_PY_E_NOT_ZLIB = 6,  /* the area does not open with a zlib header */
    PU_OPRET_PY_E_INFLATE = 7,   /* the deflate data or its Adler-32 is corrupt */
    PU_OPRET_PY_E_PADDING = 8,   /* a nonzero byte after the end of the stream */
    PU_OPRET_PY_E_TOO_LARGE = 9, /* inflates to more than PU_OPRET_PY_TEXT_MAX bytes */
} pu_opret_py_status;
#define PU_OPRET_PY_STATUS_COUNT 10u

/** A decoded record: plain value. */
typedef struct pu_opret_py_rec {
    uint8_t version;
    uint8_t op;                 /* same numbering as pu_opret_op */
    uint32_t timestamp;         /* seconds (the producer's wall clock) */
    uint8_t node_id_hash[20];   /* SHA-1 of the node id text */
    uint8_t task_id_hash[32];   /* SHA-256 of the task id text; zero for registrations */
    uint32_t crc;
    uint32_t stream_len;        /* bytes of the area the stream occupies (98 when cut) */
    bool last_byte_zero;        /* the stream ends in 0x00: the producer's own reader strips
                                 * it with the padding and cannot decode this record */
    uint32_t text_len;          /* bytes inflated */
    char text[PU_OPRET_PY_TEXT_MAX + 1]; /* the payload as written (JSON), NUL-terminated;
                                          * it may hold NUL or other control bytes */
} pu_opret_py_rec;

/** Decode len bytes.  PU_OK with *status PU_OPRET_PY_OK or PU_OPRET_PY_CUT
 * (the record read as far as it can be), or PU_ERR_PARSE with the reason in
 * *status; envelope fields are filled whenever the length is right and the
 * CRC matches, the text is filled up to where inflating stopped.
 * PU_ERR_NOMEM when zlib cannot allocate its state. */
PU_NODISCARD pu_err pu_opret_py_decode(const uint8_t *in, size_t len, pu_opret_py_rec *out,
                                       pu_opret_py_status *status);

/** Static string naming a status: never NULL, never freed. */
const char *pu_opret_py_status_str(pu_opret_py_status s);

#endif
