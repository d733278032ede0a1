"""Frame extraction of a video into a Ground Truth frame sequence (media/video_frames),
what `truthset video frames` and the import option extract_video_frames run.

usage: python benchmarks/video_extract.py [--frames 10000] [--width 1280 --height 720]
       [--rate 30] [--codec libx264] [--step 1] [--threads N]
A video of moving shapes is rendered first (not measured), then extracted into JPEG frames
and a sequence file in a temporary folder. Prints frames/s, the speed against real time
(the video's length / the extraction's time: >= 1 is at least real time), the bytes
written and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from _common import machine
from truthset.media.sequences import load_sequence
from truthset.media.video_frames import extract_video

UNIQUE = 1000


def render(path: Path, frames: int, width: int, height: int, rate: int, codec: str) -> None:
    """Shapes moving over a gradient with a camera's noise (sigma ~3), so the decoder and the
    JPEGs do real work. At most UNIQUE frames are encoded; a longer video repeats them by
    remuxing their packets with later times (encoding 10,000 frames here takes longer than
    the extraction measured)."""
    unique = min(frames, UNIQUE)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:height, :width]
    background = np.stack(
        [(xx * 200 // width), (yy * 200 // height), ((xx + yy) * 100 // (width + height))], -1
    ).astype(np.int16)
    noise = rng.normal(0, 3, size=(8, height, width, 3)).astype(np.int16)
    part = path.with_name("part" + path.suffix)
    with av.open(str(part), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(rate))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "23"}
        for i in range(unique):
            image = background + noise[i % 8]
            for k in range(5):
                x = int((i * (3 + k) + k * 200) % (width - 80))
                y = int((height / 6) * (k + 0.5))
                image[y : y + 60, x : x + 80] = (40 * k, 255 - 40 * k, 128)
            frame = av.VideoFrame.from_ndarray(image.clip(0, 255).astype(np.uint8), "rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with av.open(str(part)) as source, av.open(str(path), "w") as out:
        in_stream = source.streams.video[0]
        out_stream = out.add_stream_from_template(in_stream)
        packets = [p for p in source.demux(in_stream) if p.size]
        span = unique * int(round(1 / (rate * in_stream.time_base)))
        for copy in range(-(-frames // unique)):
            for packet in packets[: frames - copy * unique]:
                packet.stream = out_stream
                packet.pts = None if packet.pts is None else packet.pts + span * copy
                packet.dts = None if packet.dts is None else packet.dts + span * copy
                out.mux(packet)
                packet.pts = None if packet.pts is None else packet.pts - span * copy
                packet.dts = None if packet.dts is None else packet.dts - span * copy
    part.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--rate", type=int, default=30)
    parser.add_argument("--codec", default="libx264")
    parser.add_argument("--step", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--qscale", type=int, default=2)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / ("clip.webm" if args.codec.startswith("libvpx") else "clip.mp4")
        started = time.perf_counter()
        render(video, args.frames, args.width, args.height, args.rate, args.codec)
        print(
            f"rendered {args.frames:,} frames {args.width}x{args.height} @ {args.rate} fps "
            f"({args.codec}, {video.stat().st_size / 2**20:.1f} MiB) in "
            f"{time.perf_counter() - started:.1f} s (not measured)"
        )
        started = time.perf_counter()
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        out = extract_video(
            str(video),
            str(Path(tmp) / "frames"),
            step=args.step,
            threads=args.threads,
            qscale=args.qscale,
        )
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu_seconds = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
        written = sum(p.stat().st_size for p in (Path(tmp) / "frames").iterdir())
        seq = load_sequence(out.sequence_ref)
        assert seq.number_of_frames == out.frames
        length = args.frames / args.rate
        print(
            f"extracted {out.frames:,} frames in {seconds:.1f} s: {out.frames / seconds:.0f} "
            f"frames/s, {length / seconds:.2f}x real time (the video is {length:.0f} s); "
            f"{written / 2**20:.0f} MiB of JPEG (qscale {args.qscale}); peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )
        # On a shared machine the wall time says how loaded it is; the CPU time says what
        # the extraction costs: within one core's real time when below the video's length.
        print(
            f"CPU time {cpu_seconds:.1f} s ({cpu_seconds / out.frames * 1000:.1f} ms a frame): "
            f"{length / cpu_seconds:.2f}x real time on one core; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
