"""A demo workspace: a text job over real tweets and an image job over sample photos that
ship inside installed wheels, an admin, three workers and a reviewer in their team (the
review pages of the demo's jobs work from the start). Seeding twice changes nothing."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sqlalchemy import select

from truthset.datasets.importer import import_source
from truthset.jobs.schemas import JobCreate
from truthset.jobs.service import create_job
from truthset.store.models import Job, User
from truthset.workforce import service as workforce
from truthset.workspace import Workspace

TEAM = "demo-labelers"
ADMIN = ("admin", "admin", "admin-demo-pass")
WORKERS = [(f"worker{i}", "worker", f"worker{i}-demo-pass") for i in (1, 2, 3)]
REVIEWER = ("reviewer1", "reviewer", "reviewer1-demo-pass")
WEATHER_LABELS = [
    "Positive",
    "Negative",
    "Neutral / author is just sharing information",
    "Tweet not related to weather condition",
    "I can't tell",
]
PHOTO_LABELS = ["animal", "person", "food or drink", "landscape or plant", "object"]


def _write_photos(folder: Path) -> int:
    """Save the wheels' sample photos as JPEG files; returns how many were written."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    try:
        from skimage import data as skdata

        for name in (
            "astronaut",
            "coffee",
            "chelsea",
            "camera",
            "rocket",
            "cat",
            "coins",
            "horse",
            "hubble_deep_field",
            "immunohistochemistry",
            "moon",
            "page",
        ):
            try:
                arrays[name] = getattr(skdata, name)()
            except Exception:  # an image that would need a download is skipped
                continue
    except ImportError:
        pass
    try:
        from sklearn.datasets import load_sample_images

        sample = load_sample_images()
        for fname, arr in zip(sample.filenames, sample.images, strict=True):
            arrays[Path(fname).stem] = arr
    except Exception:
        pass
    for name, arr in arrays.items():
        path = folder / f"{name}.jpg"
        if path.exists():
            continue
        img = Image.fromarray(arr if arr.dtype.name == "uint8" else (arr * 255).astype("uint8"))
        img.convert("RGB").save(path, quality=90)
    return len(arrays)


def seed_demo(ws: Workspace) -> list[tuple[str, str, str]]:
    logins = [ADMIN, *WORKERS, REVIEWER]
    with ws.db.session_scope() as session:
        if session.scalar(select(User.id).where(User.name == ADMIN[0])) is None:
            workforce.create_user(session, ADMIN[0], role="admin", password=ADMIN[2])
            workforce.create_team(session, TEAM)
            for name, role, password in WORKERS:
                workforce.create_user(session, name, role=role, password=password, teams=[TEAM])
        # Apart: a workspace seeded before the demo had a reviewer gets one too.
        if session.scalar(select(User.id).where(User.name == REVIEWER[0])) is None:
            name, role, password = REVIEWER
            workforce.create_user(session, name, role=role, password=password, teams=[TEAM])
        if session.scalar(select(Job.id).where(Job.name == "weather-sentiment")) is None:
            tweets = resources.files("truthset.demo") / "data" / "weather-tweets.jsonl"
            with resources.as_file(tweets) as path:
                import_source(session, "weather-tweets", str(path), allowed_roots=[])
            create_job(
                session,
                JobCreate(
                    name="weather-sentiment",
                    task_type="text-classification",
                    label_config={
                        "document-version": "2018-11-28",
                        "labels": [{"label": x} for x in WEATHER_LABELS],
                    },
                    dataset="weather-tweets",
                    workers_per_item=3,
                    teams=[TEAM],
                    instructions=(
                        "# Weather sentiment\n\nWhat does the author of the tweet feel about the "
                        'weather?\n\n- **Positive**: *"Sun is out, finally!"*\n- **Negative**: '
                        '*"Another day of rain..."*\n- Pick *not related* when the tweet is not '
                        "about the weather at all.\n"
                    ),
                    settings={"short_instructions": "How does the author feel about the weather?"},
                ),
            )
        if session.scalar(select(Job.id).where(Job.name == "photo-topics")) is None:
            folder = ws.settings.media_dir / "demo-photos"
            _write_photos(folder)
            import_source(session, "sample-photos", str(folder), allowed_roots=ws.allowed_roots)
            create_job(
                session,
                JobCreate(
                    name="photo-topics",
                    task_type="image-classification",
                    label_config={
                        "document-version": "2018-11-28",
                        "labels": [{"label": x} for x in PHOTO_LABELS],
                    },
                    dataset="sample-photos",
                    workers_per_item=1,
                    teams=[TEAM],
                    instructions="# Photo topics\n\nChoose what the photo mostly shows.\n",
                ),
            )
    return logins
