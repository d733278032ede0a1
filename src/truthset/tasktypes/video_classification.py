"""Video classification: one label per clip, Ground Truth's `groundtruth/video-classification`.

The item's `source-ref` is a video file (mp4, webm, ogg: what the workers' browser plays),
played by tools/video-classify.js in a `<video>` element that seeks by Range requests
(`/api/items/{id}/media` answers 206). The answer, the consolidation (weighted majority
vote, Ground Truth's confidence 0.00 for one worker) and the output are those of image
classification, as Ground Truth's guide says of its video classification output: the label
value is the class id and the metadata carries `class-name` and `confidence`.
"""

from __future__ import annotations

from truthset.tasktypes.classification import SingleLabelClassification

VIDEO_CLASSIFICATION = SingleLabelClassification(
    name="video-classification",
    media="video",
    output_type="groundtruth/video-classification",
    ui_module="tools/video-classify.js",
    # The loop's features are of images and texts; a clip has none here.
    supports_auto_labeling=False,
)
