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
"""

import math
import os
import re

# Must be set before h5py loads the HDF5 library: older h5py versions have
# no `locking` argument, and this switch works for all of them.
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

import h5py  # noqa: E402  (after the environment switch above)
import numpy as np  # noqa: E402

#: Value of /run.layout this module was written for (SIM_METRICS_LAYOUT).
LAYOUT = 1

#: Tables the simulator streams during the run (present up to the last
#: checkpoint in the file of a killed run).
STREAMED = ("/blocks", "/arrivals", "/txs", "/reorgs", "/timeseries")
#: Tables written only when the run finishes (empty in a killed run's file).
AT_END = ("/block_outcomes", "/tx_confirmations", "/messages")

_HINTS = {
    "/arrivals": "it is written only when the scenario has "
    "output.arrivals: true",
    "/block_outcomes": "it is written when the run finishes",
    "/tx_confirmations": "it is written when the run finishes",
    "/messages": "it is written when the run finishes",
}
for _name in ("/ml/iterations", "/ml/verifications", "/tasks", "/economics"):
    _HINTS[_name] = "only runs with consensus: pouw have it"


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
        """True when the run finished (its /summary was written)."""
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

    def layout_warning(self):
        """A message when the file's layout differs from LAYOUT, else None."""
        lay = self.run.get("layout")
        if lay is not None and lay != LAYOUT:
            return (
                "%s: layout %s, but these scripts know layout %d: columns may "
                "have changed meaning (see analysis/README.md)"
                % (self.path, lay, LAYOUT)
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
