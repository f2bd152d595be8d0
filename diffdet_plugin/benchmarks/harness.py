"""The measurement harness the throughput benchmarks share (``backbone``, ``synthesize``).

What a number depends on is recorded with it (:func:`environment`: versions, device,
threads, dtype, CPU / GPU model, load average). Timing: each variant runs ``--warmup``
untimed calls, then ``--repeat`` timed ones (wall clock; on CUDA the device is
synchronized around each call); the median is reported, throughput is items per second
of the median call.

Peak memory: on CUDA ``torch.cuda.max_memory_allocated`` (all variants in one process,
peak stats reset between them); on CPU each variant runs in its own child process
(``python -m diffdet_plugin.benchmarks`` re-invoked with the hidden ``--variant`` flag,
one child after another, never in parallel) and reports its peak RSS (``ru_maxrss``),
which includes the model weights. A child prints its result as one JSON line tagged
:data:`RESULT_TAG`.

:func:`measure_variants` runs a benchmark's variants that way; :func:`report` prints the
per-variant table (seconds per batch, images/s, peak memory) and writes ``--json``. Also
here: the JSON (+ markdown) result files of every benchmark (:func:`write_report`, also
used by ``fidelity`` and ``quality``). The options the throughput benchmarks share are in
:mod:`.options`.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import platform
import resource
import statistics
import subprocess
import sys
import time

import torch

RESULT_TAG = 'BENCH_RESULT '  # prefix of the JSON line a child process prints
DTYPES = ('fp32', 'fp16', 'bf16')
CUDA_MEMORY_NOTE = ('peak memory: torch.cuda.max_memory_allocated per variant (same process, '
                    'peak reset between variants; includes the model weights)')


# ----------------------------------------------------------------------------
# environment
# ----------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def environment(device: str, dtype: str) -> dict:
    """What the numbers depend on: versions, device, threads, dtype, load."""
    import diffusers
    env = dict(python=platform.python_version(), torch=torch.__version__,
               diffusers=diffusers.__version__, device=device, dtype=dtype,
               cpu=cpu_model(), cpu_count=usable_cpus(), torch_threads=torch.get_num_threads(),
               load_avg_1_5_15=load_average())
    if device == 'cuda':
        env.update(gpu=torch.cuda.get_device_name(0), cuda=torch.version.cuda,
                   cudnn=torch.backends.cudnn.version())
    return env


# ----------------------------------------------------------------------------
# timing and memory
# ----------------------------------------------------------------------------
def synchronize(device: str):
    if device == 'cuda':
        torch.cuda.synchronize()


def time_fn(fn, warmup: int, repeat: int, device: str) -> list[float]:
    """Call ``fn()`` ``warmup`` times untimed, then ``repeat`` times timed.

    Returns the wall-clock seconds of each timed call; on CUDA the device is
    synchronized before and after each call. ``fn``'s result is dropped at
    once, so no two calls' outputs are alive together.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        synchronize(device)
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return times


def summarize(times: list[float], items_per_call: int) -> dict:
    """Timed calls → seconds (each, median, min) and items per second of the median call."""
    med = statistics.median(times)
    return dict(times_s=[round(t, 4) for t in times], median_s=round(med, 4),
                min_s=round(min(times), 4), items_per_s=items_per_call / med)


def current_rss_bytes() -> int | None:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (ru_maxrss: KiB on Linux, B on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == 'darwin' else peak * 1024


def reset_peak_memory(device: str):
    if device == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_memory(device: str) -> dict:
    if device == 'cuda':
        return dict(peak_mem_bytes=torch.cuda.max_memory_allocated(),
                    peak_mem_kind='cuda max_memory_allocated')
    return dict(peak_mem_bytes=peak_rss_bytes(), peak_mem_kind='peak process RSS')


# ----------------------------------------------------------------------------
# child processes and the variants of one benchmark
# ----------------------------------------------------------------------------
def child_command(argv: list[str]) -> list[str]:
    """The command line of a child process: the benchmarks' CLI with ``argv``."""
    return [sys.executable, '-m', 'diffdet_plugin.benchmarks'] + list(argv)


def run_child(argv: list[str]) -> dict:
    """Run the benchmarks' CLI with ``argv`` in a fresh process; return the JSON it reports.

    The child's stderr goes straight to ours; its result is the last stdout
    line starting with :data:`RESULT_TAG`.
    """
    cmd = child_command(argv)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    results = [ln[len(RESULT_TAG):] for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not results:
        sys.stdout.write(proc.stdout)
        raise SystemExit(f'benchmark child process failed (exit code {proc.returncode}): '
                         f'{" ".join(cmd)}')
    return json.loads(results[-1])


def emit_child_result(result: dict):
    print(RESULT_TAG + json.dumps(result), flush=True)


def strip_flag(argv: list[str], flag: str) -> list[str]:
    """``argv`` without ``flag VALUE`` / ``flag=VALUE``."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == flag:
            skip = True
        elif not a.startswith(flag + '='):
            out.append(a)
    return out


def measure_variants(args, variants, run_variants, header: list[str], weights: str):
    """Time ``variants``: in this process on CUDA (or with ``--in-process``), one child
    process each on CPU.

    ``run_variants(args, variants)`` → (per-variant results, info) with the
    per-variant part of the info under ``info['variants']``; ``header``: lines
    printed before the environment; ``weights`` names what the model weights are
    (for the memory note). On CPU the info is the first child's, with every
    child's ``variants`` entries, and each result also has its child's RSS right
    after the build. Returns (environment, results, info, memory note), or None in
    a child process (hidden ``--variant``: that variant's result is printed as a
    :data:`RESULT_TAG` line).
    """
    setup_threads(args)
    if args.variant:
        results, info = run_variants(args, [args.variant])
        emit_child_result(dict(result=results[args.variant], info=info,
                               env=environment(args.device, args.dtype)))
        return None
    env = environment(args.device, args.dtype)
    for line in header:
        print(line)
    print_environment(env)
    if args.device == 'cuda':
        results, info = run_variants(args, variants)
        mem_note = CUDA_MEMORY_NOTE
    elif args.in_process:
        results, info = run_variants(args, variants)
        for r in results.values():
            r['rss_after_build_bytes'] = info['rss_after_build_bytes']
        mem_note = ('peak memory on CPU (--in-process): the peak RSS of this one process, which '
                    'ran every variant in turn, so only the first variant\'s figure is its own')
    else:
        results, info = {}, None
        base = strip_flag(args.argv, '--json')
        for v in variants:  # one after another: each child holds the whole model
            print(f'[{v}] running in a child process ...', flush=True)
            child = run_child(base + ['--variant', v])
            results[v] = dict(child['result'],
                              rss_after_build_bytes=child['info']['rss_after_build_bytes'])
            if info is None:
                info = child['info']
            else:
                info['variants'].update(child['info']['variants'])
            env['torch_threads'] = child['env']['torch_threads']
        mem_note = ('peak memory on CPU: peak process RSS (ru_maxrss) of the variant\'s own child '
                    f'process, including the model weights ({weights}), the Python '
                    'interpreter and imported libraries')
    env['load_avg_1_5_15_end'] = load_average()
    return env, results, info, mem_note


# ----------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------
def fmt_bytes(n: int | None) -> str:
    return '-' if n is None else f'{n / 2**30:.2f} GiB' if n >= 2**30 else f'{n / 2**20:.0f} MiB'


def print_table(headers: list[str], rows: list[list[str]]):
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    line = ' | '.join(f'{h:<{w}}' for h, w in zip(headers, widths))
    print(line)
    print('-+-'.join('-' * w for w in widths))
    for r in rows:
        print(' | '.join(f'{str(c):<{w}}' for c, w in zip(r, widths)))


def print_results(results: dict, what: dict | None = None):
    """The per-variant table: seconds per batch (median, min), images/s, peak memory."""
    headers = ['variant'] + (['what'] if what else []) + [
        'median s/batch', 'min s/batch', 'images/s (median)', 'peak mem']
    rows = [[v] + ([what[v]] if what else []) + [
        f"{r['median_s']:.3f}", f"{r['min_s']:.3f}", f"{r['items_per_s']:.3f}",
        fmt_bytes(r['peak_mem_bytes'])] for v, r in results.items()]
    print_table(headers, rows)


def print_environment(env: dict):
    dev = (f"cuda: {env['gpu']} (CUDA {env['cuda']}, cuDNN {env['cudnn']})"
           if env['device'] == 'cuda' else f"cpu: {env['cpu']}, {env['cpu_count']} usable cores")
    print(f"torch {env['torch']}, diffusers {env['diffusers']}, python {env['python']}")
    print(f"device {dev}; torch threads {env['torch_threads']}; dtype {env['dtype']}; "
          f"load average (1/5/15 min) {env['load_avg_1_5_15']}")


def write_report(json_path: str, result: dict, markdown: str | None = None) -> str | None:
    """Write ``result`` to ``json_path`` (indented JSON) and ``markdown``, when given, next to
    it with the suffix ``.md``; the folder is made if missing. Returns the markdown path."""
    os.makedirs(osp.dirname(osp.abspath(json_path)), exist_ok=True)
    with open(json_path, 'w') as f:
        json.dump(result, f, indent=2)
    if markdown is None:
        return None
    md_path = osp.splitext(json_path)[0] + '.md'
    with open(md_path, 'w') as f:
        f.write(markdown)
    return md_path


def finish_report(json_path: str, result: dict, markdown: str, t0: float) -> dict:
    """Close a report: record its wall time since ``t0`` (``time.time()``), print the
    markdown, write both files (``write_report``) and say where. Returns ``result``."""
    result['wall_time_s'] = round(time.time() - t0, 1)
    print('\n' + markdown)
    write_report(json_path, result, markdown)
    print(f'written to {json_path} and its .md (wall time of this invocation '
          f'{result["wall_time_s"]} s)')
    return result


def write_json(path: str, data: dict):
    write_report(path, data)
    print(f'wrote {path}')


def run_note(info: dict, env: dict, *facts: str) -> str:
    """The closing note line of a timing benchmark: model build time, the LDM's size (when
    ``info`` has ``ldm_params``), ``facts``, load."""
    size = (f"LDM params {info['ldm_params'] / 1e6:.1f} M", ) if 'ldm_params' in info else ()
    return '; '.join((f"model build {info['build_s']} s", *size, *facts,
                      f"load average at end {env['load_avg_1_5_15_end']}"))


#: the options of :func:`.options.add_common_args` every timing report records
COMMON_RECORDED_ARGS = ('preset', 'batch', 'res', 'dtype', 'device', 'warmup', 'repeat', 'seed')


def report(args, bench: str, recorded_args, notes: list[str], measured: tuple,
           what: dict | None = None, facts=(), **fields):
    """Print the per-variant table and the ``notes`` (a line each), then the memory note and
    :func:`run_note` with ``facts``; with ``--json`` write ``bench``, the options
    (:data:`COMMON_RECORDED_ARGS` and the benchmark's own ``recorded_args``), the measurement
    and ``fields``. ``measured``: :func:`measure_variants`' (env, results, info, memory
    note); ``what``: a line of help per variant."""
    env, results, info, mem_note = measured
    notes = [*notes, mem_note, run_note(info, env, *facts)]
    fields = dict(env=env, results=results, **fields, memory_note=mem_note, info=info)
    print()
    print_results(fields['results'], what)
    for line in notes:
        print(line)
    if args.json:
        names = COMMON_RECORDED_ARGS + tuple(recorded_args)
        write_json(args.json, dict(bench=bench, args={k: getattr(args, k) for k in names},
                                   **fields))


def setup_threads(args):
    if getattr(args, 'threads', None):
        torch.set_num_threads(args.threads)
