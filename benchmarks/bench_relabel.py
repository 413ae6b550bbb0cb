"""Throughput and memory of ``ticketguard relabel``.

Prints rows/s on a generated archive (default 10,000 rows cycled from ``data/corpus``) for the
local engine with 1 process x all cores and N processes x 1 thread, and for Ray (local); then
the peak RSS (this process and all its children) while streaming a 1,000,000-row file.

    python benchmarks/bench_relabel.py                       # the default model
    python benchmarks/bench_relabel.py --model DIR --rows 2000 --repeats 1 --big-rows 0
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ticketguard.relabel.engine_local import LocalEngine, available_cores  # noqa: E402
from ticketguard.relabel.readers import Source  # noqa: E402
from ticketguard.relabel.runner import relabel_file  # noqa: E402

logger = logging.getLogger("bench_relabel")


def make_archive(path: Path, rows: int) -> Path:
    """``rows`` messages cycled from the corpus, each with its own id."""
    base = []
    for file in sorted((ROOT / "data" / "corpus").glob("*.jsonl")):
        base += [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    with path.open("w", encoding="utf-8") as handle:
        for i in range(rows):
            row = base[i % len(base)]
            handle.write(json.dumps({"id": i, "text": row["text"], "lang": row["lang"], "label": row["label"]},
                                    ensure_ascii=False) + "\n")
    return path


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    out = [int(c) for c in children]
    for child in list(out):
        out += _descendants(child)
    return out


def timed_run(archive: Path, output: Path, engine: object, chunk_rows: int) -> float:
    """Rows per second of one full run (model loading excluded: the engine is already up)."""
    start = time.perf_counter()
    summary = relabel_file(Source(archive, "jsonl", chunk_rows=chunk_rows), output, engine,  # type: ignore[arg-type]
                           resume=False)
    return summary.rows / (time.perf_counter() - start)


def throughput(model: Path, archive: Path, work: Path, *, repeats: int, chunk_rows: int, ray: bool) -> None:
    cores = available_cores()
    configs: list[tuple[str, int]] = [(f"local 1 process x {cores} threads", 1)]
    if cores > 1:
        configs.append((f"local {cores} processes x 1 thread", cores))
    for name, workers in configs:
        with LocalEngine(model, workers=workers) as engine:
            if repeats > 1:  # first pass warms caches and the workers' allocators
                timed_run(archive, work / "warmup.jsonl", engine, chunk_rows)
            rates = [timed_run(archive, work / "out.jsonl", engine, chunk_rows) for _ in range(repeats)]
        print(f"{name:<36} {statistics.median(rates):>9.1f} rows/s  (median of {len(rates)}: "
              f"{', '.join(f'{r:.1f}' for r in rates)})", flush=True)
    if ray:
        from ticketguard.relabel.engine_ray import RayEngine

        engine = RayEngine(model, workers=cores, cores=cores)
        try:
            rates = [timed_run(archive, work / "ray.jsonl", engine, chunk_rows) for _ in range(repeats)]
        finally:
            engine.close()
        print(f"{f'ray local, {cores} actors x 1 thread':<36} {statistics.median(rates):>9.1f} rows/s  "
              f"(median of {len(rates)}, actor start-up included)", flush=True)


def peak_memory(model: Path, rows: int, work: Path, workers: int) -> None:
    """Peak RSS of a CLI run (process tree) streaming ``rows`` rows: it should not grow with ``rows``."""
    big = make_archive(work / "big.jsonl", rows)
    command = [sys.executable, "-m", "ticketguard.cli.main", "relabel", str(big), "-o", str(work / "big.out.jsonl"),
               "--model", str(model), "--workers", str(workers), "--no-resume"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    peak, samples, stop = [0], [], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            total = sum(_rss_kib(p) for p in [process.pid, *_descendants(process.pid)])
            peak[0] = max(peak[0], total)
            samples.append(total)
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    start = time.perf_counter()
    sampler.start()
    code = process.wait()
    stop.set()
    sampler.join()
    elapsed = time.perf_counter() - start
    steady = samples[len(samples) // 5:] or [0]  # after start-up (model loading in the workers)
    marks = ", ".join(f"{q}%: {steady[min(len(steady) - 1, len(steady) * q // 100)] / 1024:.0f}"
                      for q in (10, 50, 90))
    print(f"streaming {rows:,} rows ({big.stat().st_size / 2**20:.0f} MiB): exit {code}, {elapsed:.0f} s, "
          f"peak RSS {peak[0] / 1024:.0f} MiB (process + {workers} workers); "
          f"RSS in MiB through the run after start-up: {marks}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="artifact (default: the default model)")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    # several chunks per worker, or the processes starve (work is handed out chunk by chunk)
    parser.add_argument("--chunk-rows", type=int, default=512)
    parser.add_argument("--big-rows", type=int, default=1_000_000, help="0 skips the memory run")
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.model is None:
        from ticketguard.cli.model_commands import resolve_model

        args.model = resolve_model(None)
    with tempfile.TemporaryDirectory(prefix="bench-relabel-") as tmp:
        work = Path(tmp)
        archive = make_archive(work / "archive.jsonl", args.rows)
        print(f"model {args.model}, {args.rows:,} rows, {available_cores()} cores, chunks of {args.chunk_rows}",
              flush=True)
        throughput(args.model, archive, work, repeats=args.repeats, chunk_rows=args.chunk_rows, ray=not args.no_ray)
        if args.big_rows:
            peak_memory(args.model, args.big_rows, work, workers=available_cores())


if __name__ == "__main__":
    main()
