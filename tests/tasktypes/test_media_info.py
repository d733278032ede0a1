import io
import os
import wave

import pytest
from PIL import Image

from truthset.media import info
from truthset.media.info import UnreadableMedia, audio_duration, clear_caches, image_size


@pytest.fixture(autouse=True)
def fresh():
    clear_caches()
    yield
    clear_caches()


def test_local_png_and_file_uri(tmp_path):
    path = tmp_path / "a b.png"
    Image.new("RGB", (321, 123)).save(path)
    assert image_size(str(path)) == (321, 123)
    assert image_size("file://" + str(path).replace(" ", "%20")) == (321, 123)


def test_replaced_file_is_read_again(tmp_path):
    path = tmp_path / "x.png"
    Image.new("RGB", (10, 20)).save(path)
    assert image_size(str(path)) == (10, 20)
    Image.new("RGB", (30, 40)).save(path)
    os.utime(path, (1, 1))  # a different mtime, whatever the clock's resolution
    assert image_size(str(path)) == (30, 40)


def test_exif_quarter_turn_swaps_width_and_height(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    Image.new("RGB", (64, 32)).save(path, exif=exif.tobytes())
    assert image_size(str(path)) == (32, 64)


def test_unreadable(tmp_path):
    with pytest.raises(UnreadableMedia, match="No such file"):
        image_size(str(tmp_path / "missing.png"))
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    with pytest.raises(UnreadableMedia, match="not a readable image"):
        image_size(str(junk))
    with pytest.raises(UnreadableMedia):
        image_size("https://example.com/a.png")


class FakeS3:
    def __init__(self, data: bytes):
        self.data = data
        self.calls: list[str | None] = []

    def get_object(self, Bucket, Key, Range=None):  # noqa: N803 - boto3's names
        self.calls.append(Range)
        body = self.data
        if Range:
            start, end = Range.removeprefix("bytes=").split("-")
            body = body[int(start) : int(end) + 1]
        return {"Body": io.BytesIO(body)}


def test_s3_reads_only_the_header_and_caches(monkeypatch):
    buf = io.BytesIO()
    Image.new("RGB", (800, 600)).save(buf, format="PNG")
    fake = FakeS3(buf.getvalue() + b"\0" * info.HEADER_BYTES)
    monkeypatch.setattr(info, "s3_client", lambda endpoint_url=None: fake)
    assert image_size("s3://bucket/a.png") == (800, 600)
    assert image_size("s3://bucket/a.png") == (800, 600)
    assert fake.calls == [f"bytes=0-{info.HEADER_BYTES - 1}"]


def test_s3_errors_are_unreadable(monkeypatch):
    class Broken:
        def get_object(self, **kw):
            raise RuntimeError("AccessDenied")

    monkeypatch.setattr(info, "s3_client", lambda endpoint_url=None: Broken())
    with pytest.raises(UnreadableMedia, match="AccessDenied"):
        image_size("s3://bucket/b.png")


def test_wav_duration(tmp_path):
    path = tmp_path / "a.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 24000)
    assert audio_duration(str(path)) == pytest.approx(1.5)
    mp3 = tmp_path / "a.mp3"
    mp3.write_bytes(b"ID3\x03\x00" + b"\0" * 100)
    with pytest.raises(UnreadableMedia, match="not a readable WAV"):
        audio_duration(str(mp3))
