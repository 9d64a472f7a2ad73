"""Check analysis/pouwsim_h5.py's frame() on a run file (tests/sim/test_analysis.c).

usage: check_frames.py RUN.h5 pandas|nopandas

pandas: every table of the file as a DataFrame equals table(), except that
uint64 values NEVER are missing values; prints "masked N" (values masked).
nopandas: with pandas made unimportable, table() still works and frame()
refuses with a message naming pandas; prints "ok nopandas"."""

import sys

sys.path.insert(0, "analysis")
if sys.argv[2] == "nopandas":
    sys.modules["pandas"] = None  # import pandas now raises ImportError

import numpy as np  # noqa: E402
import pouwsim_h5 as ph  # noqa: E402

run = ph.open_run(sys.argv[1])
if sys.argv[2] == "nopandas":
    assert not ph.HAVE_PANDAS
    try:
        run.frame("/blocks")
        sys.exit("frame() without pandas did not refuse")
    except ph.RunFileError as e:
        assert "pandas" in str(e), e
    assert len(run.table("/blocks")["idx"]) == run.rows("/blocks")
    print("ok nopandas")
    sys.exit(0)

assert ph.HAVE_PANDAS
masked = 0
tables = 0
for name, rows in sorted(run.datasets.items()):
    t = run.table(name)
    f = run.frame(name)
    assert len(f) == rows, (name, len(f), rows)
    assert list(f.columns) == list(t), (name, list(f.columns))
    tables += 1
    for c, v in t.items():
        if v.dtype == np.uint64:
            never = v == np.uint64(ph.NEVER)
            na = f[c].isna().to_numpy()
            assert (na == never).all(), (name, c)
            kept = f[c][~never].to_numpy(dtype=np.uint64)
            assert (kept == v[~never]).all(), (name, c)
            assert str(f[c].dtype) == "UInt64", (name, c, f[c].dtype)
            masked += int(never.sum())
        else:
            assert (f[c].to_numpy() == v).all(), (name, c)
print("tables %d masked %d" % (tables, masked))
