"""`truthset video`: videos into Ground Truth frame sequences (the console's frame extraction)."""

from __future__ import annotations

from typing import Annotated

import typer

from truthset.cli.common import echo_json, handle_errors, stderr_progress

app = typer.Typer(
    help="Videos: frames and sequence files for video frame jobs.", no_args_is_help=True
)


@app.command("frames")
@handle_errors
def frames_cmd(
    source: Annotated[
        str,
        typer.Argument(help="a video file (mp4, webm...) or a manifest of them, local or s3://"),
    ],
    to: Annotated[str, typer.Option("--to", help="folder or s3:// prefix the sequences go into")],
    step: Annotated[int, typer.Option(help="keep every n-th frame (1: all)")] = 1,
    qscale: Annotated[
        int, typer.Option(help="JPEG quantiser scale of the frames (FFmpeg's -q:v): 2 best to 31")
    ] = 2,
    threads: Annotated[
        int | None, typer.Option(help="encoding threads (default: the CPU count, at least 2)")
    ] = None,
) -> None:
    """Extract each video's frames as JPEGs into <to>/<video name>/ with its sequence file
    (sequence.json: frame rate, unix timestamps), and write <to>/sequences.manifest, one
    line per video pointing at its sequence file: the input manifest of a video frame
    object detection or tracking job."""
    from truthset.media.video_frames import extract_manifest

    result = extract_manifest(
        source, to, step=step, qscale=qscale, threads=threads, progress=stderr_progress("frames")
    )
    typer.echo(
        f"\n{result['videos']} videos, {result['frames']:,} frames: {result['manifest']}", err=True
    )
    echo_json(result)
