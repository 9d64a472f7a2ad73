/* core/opret_py.c -- reading the Python implementation's OP_RETURN records
 * (layout and differences in opret_py.h). */
#include "core/opret_py.h"

#include <string.h>
#define ZLIB_CONST /* next_in is then const: the area is only read */
#include <zlib.h>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/opret.h"

const char *pu_opret_py_status_str(pu_opret_py_status s)
{
    switch (s) {
    case PU_OPRET_PY_OK: return "ok";
    case PU_OPRET_PY_CUT: return "stream cut by the producer at 98 bytes";
    case PU_OPRET_PY_E_LENGTH: return "record is not 160 bytes";
    case PU_OPRET_PY_E_CRC: return "CRC-32 mismatch";
    case PU_OPRET_PY_E_VERSION: return "unknown format version";
    case PU_OPRET_PY_E_OPCODE: return "unknown op code";
    case PU_OPRET_PY_E_NOT_ZLIB: return "payload is not a zlib stream";
    case PU_OPRET_PY_E_INFLATE: return "zlib stream is corrupt";
    case PU_OPRET_PY_E_PADDING: return "nonzero bytes after the zlib stream";
    case PU_OPRET_PY_E_TOO_LARGE: return "payload inflates beyond 4096 bytes";
    }
    return "unknown status";
}

static pu_opret_py_status envelope(const uint8_t *in, size_t len, pu_opret_py_rec *out)
{
    if (len != PU_OPRET_SIZE)
        return PU_OPRET_PY_E_LENGTH;
    /* Same order as core/opret: a damaged record reads as damaged. */
    out->crc = pu_get_be32(in + PU_OPRET_OFF_CRC);
    if (pu_crc32(in, PU_OPRET_OFF_CRC) != out->crc)
        return PU_OPRET_PY_E_CRC;
    out->version = in[0];
    out->op = in[PU_OPRET_OFF_OP];
    out->timestamp = pu_get_be32(in + PU_OPRET_OFF_TIME);
    memcpy(out->node_id_hash, in + PU_OPRET_OFF_NODE, 20);
    memcpy(out->task_id_hash, in + PU_OPRET_OFF_TASK, 32);
    if (out->version != PU_OPRET_VERSION)
        return PU_OPRET_PY_E_VERSION;
    if (out->op < 1 || out->op > PU_OPRET_OP_COUNT)
        return PU_OPRET_PY_E_OPCODE;
    if (!pu_opret_zlib_header(in + PU_OPRET_OFF_PAYLOAD))
        return PU_OPRET_PY_E_NOT_ZLIB;
    return PU_OPRET_PY_OK;
}

/* Inflate the whole area: the stream may end anywhere inside it (then the
 * rest must be the producer's zero padding) or run past its end (cut). */
static pu_err inflate_area(const uint8_t *area, pu_opret_py_rec *out, pu_opret_py_status *st)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK)
        return PU_ERR_NOMEM; /* the only failure left with a valid z_stream */
    z.next_in = area;
    z.avail_in = PU_OPRET_PAYLOAD_SIZE;
    z.next_out = (Bytef *)out->text;
    z.avail_out = PU_OPRET_PY_TEXT_MAX;
    int zr = inflate(&z, Z_SYNC_FLUSH);
    out->text_len = PU_OPRET_PY_TEXT_MAX - z.avail_out;
    out->text[out->text_len] = '\0';
    out->stream_len = PU_OPRET_PAYLOAD_SIZE - z.avail_in;
    inflateEnd(&z);
    if (zr == Z_STREAM_END) {
        *st = PU_OPRET_PY_OK;
        for (uint32_t i = out->stream_len; i < PU_OPRET_PAYLOAD_SIZE; i++)
            if (area[i])
                *st = PU_OPRET_PY_E_PADDING;
        out->last_byte_zero = area[out->stream_len - 1] == 0;
    } else if (zr == Z_MEM_ERROR) {
        return PU_ERR_NOMEM;
    } else if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT) {
        *st = PU_OPRET_PY_E_INFLATE;
    } else if (z.avail_out == 0) {
        *st = PU_OPRET_PY_E_TOO_LARGE;
    } else {
        *st = PU_OPRET_PY_CUT; /* Z_OK or Z_BUF_ERROR: every byte read, no end in sight */
    }
    return PU_OK;
}

pu_err pu_opret_py_decode(const uint8_t *in, size_t len, pu_opret_py_rec *out,
                          pu_opret_py_status *status)
{
    memset(out, 0, sizeof *out);
    pu_opret_py_status st = envelope(in, len, out);
    if (st == PU_OPRET_PY_OK) {
        pu_err rc = inflate_area(in + PU_OPRET_OFF_PAYLOAD, out, &st);
        if (rc != PU_OK) {
            *status = PU_OPRET_PY_E_INFLATE;
            return rc;
        }
    }
    *status = st;
    return st == PU_OPRET_PY_OK || st == PU_OPRET_PY_CUT ? PU_OK : PU_ERR_PARSE;
}
