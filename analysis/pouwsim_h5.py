"""Read pouwsim run files (one HDF5 file per run).

The layout of a run file is documented in analysis/README.md.  This module
only reads; it never changes a file.  Typical use::

    import pouwsim_h5 as ph

    run = ph.open_run("results/quickstart.h5")
    print(run.label(), run.summary["stale_rate"])
    blocks = run.table("/blocks")            # dict: column -> numpy array
    t_s = ph.ns_to_s(blocks["mined_ns"])
    arr = run.array("/arrivals")             # numpy structured array

Every read opens the file, reads and closes it again, and opens it without
HDF5 file locking: a file that a running simulation is still checkpointing
can be read safely, and a reader never blocks the simulation's next
checkpoint (see sim/h5.h).

Strings: fixed-length string columns (hashes, message kinds) come back from
h5py as bytes; table() decodes them to str arrays, array() leaves them as
bytes.  Attributes are returned as plain Python values (int, float, str).

Errors a user can cause (no such file, not HDF5, not a run file, a missing
dataset) raise RunFileError with a one-line message naming the file.

pandas: when pandas is installed (Debian python3-pandas, in `make deps`),
frame() returns a table as a DataFrame whose unsigned 64-bit columns are
nullable UInt64 columns in which the value 2^64 - 1 -- the files' "never" /
"none" (NEVER) -- is a missing value (<NA>), so it cannot leak into a mean.  Without
pandas everything else works; frame() alone raises RunFileError saying so
(HAVE_PANDAS tells which case holds).

Layouts: files of layout 3 (SIM_METRICS_LAYOUT, now), 2 and 1 are read;
block_outcomes() hides the one difference in table meaning ("never" is
NEVER since layout 2, 0 in layout 1).  Since layout 3, /summary figures
without data (a median over no block) are NaN instead of 0, and
/run.finished says whether the run completed.  PoUW runs (consensus: pouw) have four
more tables: /ml/iterations, /ml/verifications, /tasks, /economics; see
pouw_blocks(), verifications_by_block() and task_threshold().  Runs with
adversaries have /attacks and /attack_refusals.
"""

import decimal
import math
import os
import re

# Must be set before h5py loads the HDF5 library: older h5py versions have
# no `locking` argument, and this switch works for all of them.
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

import h5py  # noqa: E402  (after the environment switch above)
import numpy as np  # noqa: E402

try:  # optional: only frame() needs it
    import pandas as pd  # noqa: E402

    HAVE_PANDAS = True
except ImportError:  # pragma: no cover - depends on the machine
    pd = None
    HAVE_PANDAS = False

#: Value of /run.layout this module was written for (SIM_METRICS_LAYOUT).
LAYOUT = 3
#: Layouts this module reads correctly (see README, "Layout history").
LAYOUTS = (1, 2, 3)
#: /block_outcomes.t50_ns, t90_ns, t100_ns of a threshold never reached
#: (layout 2; layout 1 wrote 0, see block_outcomes()).
NEVER = 2**64 - 1

#: Tables of consensus: pouw runs only.
POUW_TABLES = ("/ml/iterations", "/ml/verifications", "/tasks", "/economics")
#: Tables of runs with adversaries only.
ATTACK_TABLES = ("/attacks", "/attack_refusals")
#: Tables the simulator streams during the run (present up to the last
#: checkpoint in the file of a killed run).
STREAMED = (
    "/blocks",
    "/arrivals",
    "/txs",
    "/reorgs",
    "/timeseries",
    "/ml/iterations",
    "/ml/verifications",
)
#: Tables written only when the run finishes (empty in a killed run's file).
AT_END = (
    "/block_outcomes",
    "/tx_confirmations",
    "/messages",
    "/refusals",
    "/tasks",
    "/economics",
    "/attacks",
    "/attack_refusals",
)

#: /summary.pouw_phase_at_end and /tasks.phase_at_end (pu_task_phase).
TASK_PHASES = {
    0: "none",
    1: "registration",
    2: "training",
    3: "finalisation",
    4: "settled",
}
#: /ml/verifications.outcome: pu_pouw_reason (core/pouw.h), as
#: pu_pouw_reason_str() names them, plus the two codes of sim/pouw.c.
POUW_REASONS = {
    0: "ok",
    1: "malformed",
    2: "unknown-task",
    3: "not-selected",
    4: "bad-signature",
    5: "bad-history",
    6: "nonce-range",
    7: "bad-commitment",
    8: "bad-batch",
    9: "unknown-data",
    10: "reexec-mismatch",
    11: "metrics-mismatch",
    12: "below-threshold",
    13: "not-verified",  # PU_POUW_REASON_COUNT: no verifier, system failure
    255: "unknown",  # refused, but no verdict was recorded for the block
}

_HINTS = {
    "/arrivals": "it is written only when the scenario has "
    "output.arrivals: true",
    "/block_outcomes": "it is written when the run finishes",
    "/tx_confirmations": "it is written when the run finishes",
    "/messages": "it is written when the run finishes",
    "/refusals": "it is written when the run finishes, by pouwsim versions "
    "from the one that added it on (layout 2 files may lack it)",
}
for _name in POUW_TABLES:
    _HINTS[_name] = "only runs with consensus: pouw have it"
for _name in ATTACK_TABLES:
    _HINTS[_name] = "only runs with adversaries have it"


class RunFileError(Exception):
    """A run file is missing, unreadable, not a run file or lacks a dataset."""


def ns_to_s(values):
    """Integer nanoseconds (scalar or array) to float seconds."""
    return np.asarray(values, dtype=np.float64) / 1e9


def nearest_rank(values, q):
    """Quantile q (0..1) by nearest rank, as sim/metrics.c computes the
    /summary figures: sorted(values)[floor(q * n)], clamped to n - 1.
    Returns nan for no values (where sim/metrics.c writes 0)."""
    v = np.sort(np.asarray(values))
    if v.size == 0:
        return math.nan
    k = min(int(q * v.size), v.size - 1)
    return v[k]


def _plain(value):
    """An attribute value as a plain Python value."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "S":
            return [x.decode("utf-8", "replace") for x in value.tolist()]
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode_column(col):
    if col.dtype.kind == "S":
        return np.char.decode(col, "ascii")
    return col


def _open(path):
    try:
        return h5py.File(path, "r", locking=False)
    except (TypeError, ValueError):
        # h5py < 3.5 or HDF5 < 1.10.7 cannot say it: the environment
        # switch set above does the same
        return h5py.File(path, "r")


_DURATION_UNITS = {
    "ns": 1,
    "us": 1e3,
    "\u00b5s": 1e3,
    "ms": 1e6,
    "s": 1e9,
    "min": 60e9,
    "h": 3600e9,
    "d": 86400e9,
}
_DURATION_RE = re.compile(
    r"^\s*([0-9]+(?:\.[0-9]*)?)\s*(ns|us|\u00b5s|ms|s|min|h|d)\s*$"
)


def parse_duration_ns(text):
    """A duration as written in the /run parameters dump ("10min", "250ms")
    to nanoseconds (float), or None if it is not one."""
    m = _DURATION_RE.match(text)
    if not m:
        return None
    return float(m.group(1)) * _DURATION_UNITS[m.group(2)]


class Run:
    """One run file.  Use open_run(path) to make one.

    Attributes read once on opening:
      path      the file
      run       dict of the /run attributes (name, seed, consensus, nodes,
                version, layout, scenario, parameters, genesis); values of a
                killed run's file may be missing (see README)
      summary   dict of the /summary attributes, or None when the run did
                not finish (killed or failed)
      datasets  dict: dataset path ("/blocks", "/ml/iterations") -> rows
    """

    def __init__(self, path):
        self.path = str(path)
        if not os.path.exists(self.path):
            raise RunFileError("%s: no such file" % self.path)
        if os.path.isdir(self.path):
            raise RunFileError(
                "%s: is a directory, not a run file" % self.path
            )
        try:
            is_h5 = h5py.is_hdf5(self.path)
        except OSError as e:
            raise RunFileError(
                "%s: cannot read: %s" % (self.path, e)
            ) from None
        if not is_h5:
            raise RunFileError(
                "%s: not an HDF5 file (expected the output of "
                "`pouwsim run ... --out FILE.h5`)" % self.path
            )
        self.datasets = {}
        try:
            with _open(self.path) as f:
                if "run" not in f or not f["run"].attrs:
                    raise RunFileError(
                        "%s: no /run attributes: not a pouwsim run file, or "
                        "a run killed before its first checkpoint" % self.path
                    )
                self.run = {k: _plain(v) for k, v in f["run"].attrs.items()}
                s = f.get("summary")
                self.summary = (
                    {k: _plain(v) for k, v in s.attrs.items()}
                    if s is not None and len(s.attrs)
                    else None
                )

                def visit(name, obj):
                    if isinstance(obj, h5py.Dataset):
                        self.datasets["/" + name] = (
                            obj.shape[0] if obj.shape else 1
                        )

                f.visititems(visit)
        except OSError as e:
            raise RunFileError(
                "%s: cannot read: %s" % (self.path, e)
            ) from None

    # ---- identity -----------------------------------------------------------

    @property
    def name(self):
        return (
            self.run.get("name")
            or os.path.splitext(os.path.basename(self.path))[0]
        )

    @property
    def seed(self):
        return self.run.get("seed")

    @property
    def nodes(self):
        return self.run.get("nodes")

    @property
    def finished(self):
        """True when the run finished: /run.finished (layout 3), else its
        /summary was written."""
        if "finished" in self.run:
            return self.run["finished"] == 1
        return self.summary is not None

    def label(self):
        """Title text: 'name (seed N, consensus, K nodes)'."""
        parts = []
        if self.seed is not None:
            parts.append("seed %d" % self.seed)
        if self.run.get("consensus"):
            parts.append(self.run["consensus"])
        if self.nodes is not None:
            parts.append("%d nodes" % self.nodes)
        if not self.finished:
            parts.append("partial file")
        return (
            "%s (%s)" % (self.name, ", ".join(parts)) if parts else self.name
        )

    @property
    def layout(self):
        """/run.layout (LAYOUT when the attribute is missing)."""
        return self.run.get("layout", LAYOUT)

    @property
    def pouw(self):
        """True for a consensus: pouw run (it has the PoUW tables)."""
        return self.run.get("consensus") == "pouw"

    def layout_warning(self):
        """A message when the file's layout is not one of LAYOUTS, else
        None."""
        lay = self.run.get("layout")
        if lay is not None and lay not in LAYOUTS:
            return (
                "%s: layout %s, but these scripts know layouts %s: columns "
                "may have changed meaning (see analysis/README.md)"
                % (self.path, lay, ", ".join(str(x) for x in LAYOUTS))
            )
        return None

    # ---- tables -------------------------------------------------------------

    def has(self, name):
        """True if the dataset exists (it may still have 0 rows)."""
        return _norm(name) in self.datasets

    def rows(self, name):
        """Rows of a dataset, 0 if it does not exist."""
        return self.datasets.get(_norm(name), 0)

    def require(self, name, nonempty=False):
        """Raise RunFileError unless the dataset exists (and has rows)."""
        name = _norm(name)
        if name not in self.datasets:
            hint = _HINTS.get(
                name,
                "the file's layout may be older or newer than this script",
            )
            raise RunFileError(
                "%s: no dataset %s (%s)" % (self.path, name, hint)
            )
        if nonempty and self.datasets[name] == 0:
            why = (
                "the run did not finish, and it is written at the end"
                if name in AT_END and not self.finished
                else "no rows were recorded"
            )
            raise RunFileError(
                "%s: dataset %s is empty (%s)" % (self.path, name, why)
            )

    def array(self, name, columns=None):
        """The table as a numpy structured array (strings stay bytes).
        columns: optional list of column names to read."""
        name = _norm(name)
        self.require(name)
        try:
            with _open(self.path) as f:
                ds = f[name]
                if columns:
                    missing = [
                        c for c in columns if c not in (ds.dtype.names or ())
                    ]
                    if missing:
                        raise RunFileError(
                            "%s: dataset %s has no column %s (columns: %s)"
                            % (
                                self.path,
                                name,
                                ", ".join(missing),
                                ", ".join(ds.dtype.names or ()),
                            )
                        )
                    return ds.fields(list(columns))[...]
                return ds[...]
        except OSError as e:
            raise RunFileError(
                "%s: cannot read %s: %s" % (self.path, name, e)
            ) from None

    def table(self, name, columns=None):
        """The table as a dict: column name -> numpy array, in file order.
        Fixed-length string columns are decoded to str arrays."""
        a = self.array(name, columns)
        if a.dtype.names is None:  # not a compound table
            return {"value": _decode_column(a)}
        return {c: _decode_column(a[c]) for c in a.dtype.names}

    def frame(self, name, columns=None, mask_never=True):
        """The table as a pandas DataFrame (pandas installed; RunFileError
        otherwise).  Strings are decoded; with mask_never, uint64 columns
        become nullable UInt64 columns in which NEVER (2^64 - 1: "never" /
        "none" in these files) is <NA>; other columns keep their numpy
        dtypes."""
        if not HAVE_PANDAS:
            raise RunFileError(
                "%s: frame() needs pandas (Debian: python3-pandas, installed "
                "by `make deps`); table() gives the same columns as numpy "
                "arrays" % self.path
            )
        cols = self.table(name, columns)
        data = {}
        for c, v in cols.items():
            if mask_never and v.dtype == np.uint64:
                # every uint64 column becomes nullable UInt64, with or
                # without a "never" in this file: one dtype for all runs
                never = v == np.uint64(NEVER)
                data[c] = pd.arrays.IntegerArray(
                    np.where(never, np.uint64(0), v), never
                )
            else:
                data[c] = v
        return pd.DataFrame(data)

    def columns(self, name):
        """Column names and numpy dtypes of a table, without reading rows."""
        name = _norm(name)
        self.require(name)
        with _open(self.path) as f:
            dt = f[name].dtype
        return [(c, dt[c]) for c in dt.names] if dt.names else [("value", dt)]

    def attrs(self, obj):
        """Attributes of any group or dataset as a dict of plain values."""
        try:
            with _open(self.path) as f:
                if obj not in f:
                    raise RunFileError("%s: no object %s" % (self.path, obj))
                return {k: _plain(v) for k, v in f[obj].attrs.items()}
        except OSError as e:
            raise RunFileError(
                "%s: cannot read %s: %s" % (self.path, obj, e)
            ) from None

    # ---- parameters ---------------------------------------------------------

    def parameters(self):
        """The resolved scenario (/run.parameters, "key = value" lines) as a
        dict of key -> value text (quotes of strings removed)."""
        out = {}
        for line in self.run.get("parameters", "").splitlines():
            key, sep, value = line.partition(" = ")
            if not sep:
                continue
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            out[key.strip()] = value
        return out

    def timeline(self):
        """Timeline events of the scenario as a list of (t_s, action, fields)
        sorted by time (fields: dict of the event's other keys)."""
        ev = {}
        for key, value in self.parameters().items():
            m = re.match(r"^timeline\[(\d+)\]\.(\w+)$", key)
            if m:
                ev.setdefault(int(m.group(1)), {})[m.group(2)] = value
        out = []
        for i in sorted(ev):
            e = ev[i]
            at = parse_duration_ns(e.get("at", ""))
            if at is None:
                continue
            fields = {k: v for k, v in e.items() if k not in ("at", "action")}
            out.append((at / 1e9, e.get("action", "?"), fields))
        out.sort(key=lambda x: x[0])
        return out


def _norm(name):
    return name if name.startswith("/") else "/" + name


def open_run(path):
    """Open a run file: Run, or RunFileError with a message for the user."""
    return Run(path)


# ---- derived data -----------------------------------------------------------


def arrival_delays(run):
    """Per block, the sorted delays (ns) from its mining to each arrival.

    Returns (idx, mined_ns, delays): idx and mined_ns are the /blocks
    columns, and delays[i] is a sorted uint64 array for block idx[i] (one
    entry per node that stored it, the miner itself included at delay 0).
    Joins /arrivals.block = /blocks.idx."""
    run.require("/blocks")
    run.require("/arrivals")
    b = run.array("/blocks", ["idx", "mined_ns"])
    a = run.array("/arrivals", ["block", "t_ns"])
    n = b.size
    pos = np.full(int(b["idx"].max()) + 1 if n else 0, -1, dtype=np.int64)
    pos[b["idx"].astype(np.int64)] = np.arange(n)
    blk = a["block"].astype(np.int64)
    ok = blk < pos.size
    ok[ok] = pos[blk[ok]] >= 0
    row = pos[blk[ok]]
    dt = a["t_ns"][ok].astype(np.int64) - b["mined_ns"][row].astype(np.int64)
    order = np.lexsort((dt, row))
    row, dt = row[order], dt[order]
    bounds = np.searchsorted(row, np.arange(n + 1))
    delays = [dt[bounds[i]:bounds[i + 1]] for i in range(n)]
    return b["idx"], b["mined_ns"], delays


def threshold_count(n_nodes, fraction):
    """Nodes a block must reach for t50 (0.5) / t90 (0.9) / t100 (1.0), as
    sim/metrics.c counts them: ceil(fraction * nodes)."""
    if fraction == 0.5:
        return (n_nodes + 1) // 2
    if fraction == 0.9:
        return (n_nodes * 9 + 9) // 10
    return int(math.ceil(fraction * n_nodes - 1e-9))


def propagation_quantiles(delays, n_nodes):
    """The /summary propagation figures recomputed from arrival delays:
    dict prop50_median_s, prop50_p90_s, prop90_median_s, prop90_p90_s.
    Like sim/metrics.c: over the blocks that reached the threshold."""
    out = {}
    for frac, tag in ((0.5, "prop50"), (0.9, "prop90")):
        k = threshold_count(n_nodes, frac)
        t = [d[k - 1] for d in delays if d.size >= k]
        out[tag + "_median_s"] = nearest_rank(t, 0.5) / 1e9 if t else math.nan
        out[tag + "_p90_s"] = nearest_rank(t, 0.9) / 1e9 if t else math.nan
    return out


def main_chain(run):
    """Boolean array over /blocks rows: True for blocks of the main chain.

    Uses /block_outcomes.main when the run finished.  For a partial file it
    walks back from the highest block (lowest idx among equals) through the
    parent hashes: an approximation of the simulator's rule (most work, see
    README), labelled as such by the callers.  Returns (flags, derived)."""
    b = run.table("/blocks", ["idx", "hash", "parent", "height"])
    n = b["idx"].size
    if run.rows("/block_outcomes") == n and n:
        o = run.array("/block_outcomes", ["idx", "main"])
        flag = dict(zip(o["idx"].tolist(), (o["main"] == 1).tolist()))
        return (
            np.array(
                [flag.get(i, False) for i in b["idx"].tolist()], dtype=bool
            ),
            False,
        )
    flags = np.zeros(n, dtype=bool)
    if not n:
        return flags, True
    row_of = {h: i for i, h in enumerate(b["hash"].tolist())}
    i = int(np.argmax(b["height"]))  # first maximum = lowest row
    while i is not None:
        flags[i] = True
        i = row_of.get(b["parent"][i])
    return flags, True


def block_outcomes(run):
    """/block_outcomes with the three delays in float seconds and nan where
    the threshold was never reached: dict idx, main, reached, t50_s, t90_s,
    t100_s (one entry per /blocks row).

    Reads both layouts: layout 2 writes NEVER for "never"; layout 1 wrote
    0, which also meant "at once" (a threshold the miner alone meets), so
    there a 0 counts as "never" when reached < threshold_count()."""
    run.require("/block_outcomes")
    o = run.table("/block_outcomes")
    n = run.nodes or 0
    out = {k: o[k] for k in ("idx", "main", "reached")}
    for frac, col in ((0.5, "t50"), (0.9, "t90"), (1.0, "t100")):
        v = o[col + "_ns"]
        never = v == np.uint64(NEVER)
        if run.layout == 1:
            k = threshold_count(n, frac)
            never |= (v == 0) & (o["reached"] < k)
        s = v.astype(np.float64) / 1e9
        s[never] = np.nan
        out[col + "_s"] = s
    return out


# ---- PoUW -------------------------------------------------------------------


def fraction_ppm(text):
    """A fraction as /run.parameters writes it ("0.8", "85%") in integer
    parts per million, exactly (the simulator's own parsing), or None."""
    t = text.strip()
    try:
        if t.endswith("%"):
            return int(decimal.Decimal(t[:-1].strip()) * 10000)
        return int(decimal.Decimal(t) * 1000000)
    except decimal.InvalidOperation:
        return None


def task_threshold(run, seq):
    """The accuracy a PoUW block's training batch must reach, as a fraction
    of the batch, for iteration numbers seq (array-like, /ml/iterations.seq):
    verify_ml_work refuses a block (BELOW_THRESHOLD) when the iteration's
    correct count is under ceil(threshold_ppm(seq) * batch / 10^6), with
    pu_task_threshold_ppm of core/task.c: a ramp from 0 at seq 0 to
    chance + (min_accuracy - chance) / 2 at seq = max_iterations / 2, flat
    afterwards.  Computed from the task keys of /run.parameters; None when
    they are missing."""
    p = run.parameters()
    try:
        if p.get("pouw.task.dataset") == "fashion-mnist":
            classes = 10  # the data set fixes it (sim/pouw.c build_task)
        else:
            classes = int(p["pouw.task.classes"])
        target = fraction_ppm(p["pouw.task.min_accuracy"])
        max_it = int(p["pouw.task.max_iterations"])
        batch = int(p["pouw.task.batch_size"])
    except (KeyError, ValueError):
        return None
    if target is None or batch <= 0:
        return None
    ppm = 1000000
    chance = ppm // classes if classes else ppm
    target = min(target, ppm)
    ceiling = target if target <= chance else chance + (target - chance) // 2
    ramp = max_it // 2 or 1
    i = np.minimum(np.asarray(seq, dtype=np.int64), ramp)
    thr = ceiling * i // ramp
    return ((thr * batch + ppm - 1) // ppm) / batch


def pouw_blocks(run):
    """The iterations that found a block, and those blocks.

    A row of /ml/iterations with block = 1 found the /blocks row that the
    same node mined at the same moment: /blocks.miner = miner_node and
    /blocks.mined_ns = t_ns.  Returns a dict of arrays, one entry per such
    iteration, in /ml/iterations order: row (the /ml/iterations row), block
    (/blocks.idx; -1 when the file has no such /blocks row), miner_node,
    miner_index, seq, t_ns."""
    run.require("/ml/iterations")
    run.require("/blocks")
    it = run.array(
        "/ml/iterations", ["miner_node", "miner_index", "seq", "t_ns", "block"]
    )
    rows = np.nonzero(it["block"] == 1)[0]
    b = run.array("/blocks", ["idx", "miner", "mined_ns"])
    where = {}
    for i, m, t in zip(
        b["idx"].tolist(), b["miner"].tolist(), b["mined_ns"].tolist()
    ):
        where.setdefault((m, t), []).append(i)
    verified = None
    found = []
    for r in rows.tolist():
        cand = where.get((int(it["miner_node"][r]), int(it["t_ns"][r])), [])
        if len(cand) > 1:
            # a proof-of-work block of the same node in the same nanosecond:
            # the PoUW one is the one nodes verified
            if verified is None:
                verified = set()
                if run.has("/ml/verifications"):
                    v = run.array("/ml/verifications", ["block"])["block"]
                    verified = set(np.unique(v).tolist())
            cand = [c for c in cand if c in verified] or cand
        found.append(cand[0] if cand else -1)
    return {
        "row": rows,
        "block": np.array(found, dtype=np.int64),
        "miner_node": it["miner_node"][rows],
        "miner_index": it["miner_index"][rows],
        "seq": it["seq"][rows],
        "t_ns": it["t_ns"][rows],
    }


def verifications_by_block(run):
    """/ml/verifications per block: a dict of arrays with one entry per
    /blocks.idx that has rows, ascending: block, rows, connected (distinct
    nodes with an outcome 0 row: they connected the block), refused
    (distinct nodes with a nonzero outcome), cost_ns (the block's
    re-execution cost, the same in all its rows), cost_sum_ns (cost_ns
    summed over the rows), first_ns and last_ns (t_ns of the first and last
    row); and 'refusals': a list of {outcome: rows} dicts, one per block."""
    run.require("/ml/verifications")
    v = run.array("/ml/verifications")
    blocks, inv = np.unique(v["block"], return_inverse=True)
    nb = blocks.size
    ok = v["outcome"] == 0
    out = {
        "block": blocks,
        "rows": np.bincount(inv, minlength=nb),
        "connected": np.zeros(nb, dtype=np.int64),
        "refused": np.zeros(nb, dtype=np.int64),
        "cost_ns": np.zeros(nb, dtype=np.uint64),
        "cost_sum_ns": np.zeros(nb, dtype=np.uint64),
        "first_ns": np.zeros(nb, dtype=np.uint64),
        "last_ns": np.zeros(nb, dtype=np.uint64),
        "refusals": [],
    }
    for j in range(nb):
        sel = inv == j
        out["connected"][j] = np.unique(v["node"][sel & ok]).size
        out["refused"][j] = np.unique(v["node"][sel & ~ok]).size
        out["cost_ns"][j] = v["cost_ns"][sel].max()
        out["cost_sum_ns"][j] = v["cost_ns"][sel].sum()
        out["first_ns"][j] = v["t_ns"][sel].min()
        out["last_ns"][j] = v["t_ns"][sel].max()
        codes, counts = np.unique(v["outcome"][sel & ~ok], return_counts=True)
        out["refusals"].append(dict(zip(codes.tolist(), counts.tolist())))
    return out
