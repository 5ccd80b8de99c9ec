"""A web worker's memory under photo uploads for minutes: does it level off?

    .venv/bin/python -m bench.photo_memory [--minutes 5] [--interval 5] [--connections 32] [--web-workers 4]
                                           [--storage file|s3]

Seeds a small set (an upload's work does not depend on the table sizes), starts the stack as bench/run
does (gunicorn with 4 sync workers, a Celery worker making the previews), then uploads the 201 KB phone
JPEG (new bytes each time, bench/run's photo load) for `--minutes`, reading every web worker's RSS every
`--interval` seconds. Prints each worker's RSS minute by minute, and its growth over the first and the
last half of the run: a worker whose memory is flat grows in the first half (what it loads once) and
not in the second. `--storage s3` keeps the photos in SeaweedFS's S3 on loopback (as the tests do).
"""
import argparse
import os
import tempfile
from pathlib import Path

from bench.common import free_port, migrate, scratch_postgres, scratch_redis
from bench.photos import photo_store
from bench.seed import seed
from bench.stack import PhotoUpload, RssSampler, settle, stack_env, start_stack, stop, wait_ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--interval", type=float, default=5, help="seconds between RSS samples")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--storage", choices=("file", "s3"), default="file")
    args = parser.parse_args()
    seconds = int(args.minutes * 60)
    with scratch_postgres("vm_bench_photo_memory") as database_url, scratch_redis() as redis_url, \
            tempfile.TemporaryDirectory() as folder, photo_store(args.storage, Path(folder)) as storage:
        migrate(database_url)
        ids = seed(database_url, volunteers=300, sites=5_000, inspections=10_000, savings=1_000)
        env = stack_env(database_url, redis_url, UPLOAD_DIR=str(Path(folder) / "uploads"), **storage)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        processes = start_stack(env, [port], args.web_workers, "sync")
        try:
            wait_ready(base)
            upload = PhotoUpload(base, ids, seconds)
            settle(database_url)
            load_before = os.getloadavg()
            with RssSampler(processes, interval=args.interval) as rss:
                result = upload.run([base], seconds=seconds, connections=args.connections)
            load_after = os.getloadavg()
        finally:
            for process in processes.values():
                stop(process)
    print_curve(rss, result, seconds, args, load_before, load_after)


def print_curve(rss: RssSampler, result: dict, seconds: int, args, load_before, load_after) -> None:
    minutes = [m * 60 for m in range(seconds // 60 + 1)]
    if minutes[-1] != seconds:
        minutes.append(seconds)
    print()
    print(f"Photo uploads for {seconds} s ({args.storage}): gunicorn {args.web_workers} sync workers, wrk "
          f"{args.connections} connections; {result['rps']:.0f} uploads/s, {result['requests']:,} in all, "
          f"{result['errors']} non-2xx, p50 {result['p50']:.0f} ms, p99 {result['p99']:.0f} ms; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"RSS of each web worker (MB), sampled every {args.interval:g} s ({len(rss.samples)} samples):")
    print(f"{'worker':>8} " + " ".join(f"{'min ' + format(t / 60, 'g'):>8}" for t in minutes)
          + f" {'1st half':>9} {'2nd half':>9}")
    first = rss.samples[0][1]
    middle, last = rss.at(seconds / 2), rss.samples[-1][1]
    for pid in sorted(last):
        curve = " ".join(f"{rss.at(t).get(pid, float('nan')):>8.1f}" for t in minutes)
        print(f"{pid:>8} {curve} {middle[pid] - first.get(pid, float('nan')):>+9.1f} {last[pid] - middle[pid]:>+9.1f}")


if __name__ == "__main__":
    main()
