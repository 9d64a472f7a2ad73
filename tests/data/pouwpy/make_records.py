#!/usr/bin/python3
"""Write records.hex: OP_RETURN records in the layout the seed's Python
implementation (github.com/elfateh4/PoUW, pouw/blockchain/standardized_format.py)
publishes, for the tests of core/opret_py and `pouwsim opret decode`.

Layout as published (written here from its description, not copied):
version u8 = 1 | op code u8 | timestamp u32 BE | SHA-1(node id text) 20 |
SHA-256(task id text) 32 (zero for a worker registration) | payload area 98 |
CRC-32 (zlib) of bytes 0..155, u32 BE.  Payload area = the first 98 bytes of
zlib.compress(compact JSON, level 9), zero padded.

Each record is preceded by a comment line "# NAME: what it shows".  Run
`/usr/bin/python3 tests/data/pouwpy/make_records.py > tests/data/pouwpy/records.hex`
to regenerate (the output depends only on this file and zlib's level-9
deflate, which has not changed output in decades of releases)."""

import hashlib
import json
import struct
import zlib

TIME = 1751068800  # 2025-06-28 00:00:00 UTC


def record(op, node, task, obj):
    text = json.dumps(obj, separators=(",", ":")).encode()
    area = zlib.compress(text, 9)[:98].ljust(98, b"\0")
    task_hash = hashlib.sha256(task.encode()).digest() if task is not None else bytes(32)
    head = struct.pack(">BBI", 1, op, TIME) + hashlib.sha1(node.encode()).digest() + task_hash
    body = head + area
    return body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def ends_in_zero(obj_of):
    """First n whose compressed JSON ends in a zero byte (its Adler-32's last byte)."""
    for n in range(100000):
        if zlib.compress(json.dumps(obj_of(n), separators=(",", ":")).encode(), 9)[-1] == 0:
            return n
    raise SystemExit("no zero-ending stream found")


RECORDS = [
    ("task_submission", "TASK_SUBMISSION, a small task", 1, "node-client-1", "task-mnist-1",
     {"model_type": "mlp", "architecture": {"input_size": 784, "hidden_sizes": [128, 64],
                                            "output_size": 10}, "fee": 10.0}),
    ("task_result", "TASK_RESULT", 2, "node-eval-1", "task-mnist-1",
     {"final_accuracy": 0.91, "iterations_completed": 100, "model_hash": "a3f19c07be"}),
    ("worker_registration", "WORKER_REGISTRATION, no task (zero task id hash)", 3, "node-miner-1",
     None, {"role": "miner", "stake_amount": 100.0, "preferences": {"gpu": False}}),
    ("consensus_vote", "CONSENSUS_VOTE (the producer has no writer for it)", 4, "node-sup-1",
     "task-mnist-1", {"vote": "yes", "iteration": 42}),
    ("gradient_share", "GRADIENT_SHARE in the producer's simplified form", 5, "node-miner-1",
     "task-mnist-1", {"iteration": 50, "model_hash": "0b5e9d2a41c7f388",
                      "performance": {"accuracy": 0.85, "loss": 0.15}}),
    ("verification_proof", "VERIFICATION_PROOF in the producer's simplified form", 6,
     "node-ver-1", "task-mnist-1",
     {"nonce": 123456, "verification_result": True, "proof_hash": "9c1d4e7f20a8b635"}),
    ("economic_event", "ECONOMIC_EVENT (the producer has no writer for it)", 7, "node-client-1",
     "task-mnist-1", {"event": "settlement", "amount": 10.0}),
    ("network_state", "NETWORK_STATE (the producer has no writer for it)", 8, "node-peer-7",
     "", {"height": 1200, "peers": 8}),
    ("cut", "TASK_SUBMISSION whose stream the producer cut at 98 bytes", 1, "node-client-2",
     "task-cnn-2",
     {"model_type": "cnn", "architecture": {"layers": [
         {"type": "conv2d", "filters": 32, "kernel_size": 3},
         {"type": "maxpool2d", "pool_size": 2},
         {"type": "dense", "units": 128}, {"type": "dense", "units": 10}]},
      "optimizer": {"type": "adam", "learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999},
      "dataset_info": {"format": "MNIST", "batch_size": 32, "size": 60000}}),
]


def zero_obj(n):
    return {"final_accuracy": 0.88, "iterations_completed": n, "model_hash": "5d2c"}


def main():
    out = []
    for name, what, op, node, task, obj in RECORDS:
        out.append((name, what, record(op, node, task, obj)))
    n = ends_in_zero(zero_obj)
    out.append(("zero_end", "TASK_RESULT whose zlib stream ends in a zero byte "
                "(iterations_completed %d)" % n, record(2, "node-eval-2", "task-mnist-1",
                                                          zero_obj(n))))
    for name, what, rec in out:
        assert len(rec) == 160
        print("# %s: %s" % (name, what))
        print(rec.hex())


main()
