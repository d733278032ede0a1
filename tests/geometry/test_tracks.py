"""geometry/tracks.py: keyframes expanded per frame, and per-frame shapes back to keyframes."""

from __future__ import annotations

import numpy as np
import pytest

from truthset.geometry.tracks import (
    FrameShape,
    align_outlines,
    expand_track,
    from_seqlabel_geometry,
    interpolate,
    keyframes_from_frames,
    resample_closed,
    resample_open,
    signed_area,
    to_seqlabel_geometry,
    visible_frames,
)


def box(left, top, width, height):
    return {"left": left, "top": top, "width": width, "height": height}


def test_boxes_are_linear_between_keyframes_and_exact_on_them():
    kfs = [{"frame": 0, "box": box(0, 0, 10, 10)}, {"frame": 10, "box": box(100, 50, 30, 10)}]
    shapes = expand_track(kfs, "box", interpolate=True, frames=11)
    assert [s.frame for s in shapes] == list(range(11))
    assert shapes[5].geometry == box(50.0, 25.0, 20.0, 10.0)
    assert shapes[0].keyframe and shapes[10].keyframe and not shapes[5].keyframe
    assert shapes[10].geometry == box(100.0, 50.0, 30.0, 10.0)
    assert shapes[3].geometry["left"] == pytest.approx(30.0)


def test_detection_has_shapes_on_its_keyframes_only():
    kfs = [{"frame": 2, "box": box(0, 0, 10, 10)}, {"frame": 9, "box": box(5, 5, 10, 10)}]
    assert [s.frame for s in expand_track(kfs, "box", interpolate=False)] == [2, 9]


def test_a_shape_holds_until_the_object_is_marked_outside_and_after_the_last_keyframe():
    kfs = [
        {"frame": 0, "box": box(0, 0, 10, 10)},
        {"frame": 4, "box": box(4, 0, 10, 10)},
        {"frame": 6, "outside": True},
        {"frame": 9, "box": box(9, 0, 10, 10)},
        {"frame": 11, "box": box(11, 0, 10, 10)},
    ]
    shapes = expand_track(kfs, "box", interpolate=True, frames=14)
    frames = [s.frame for s in shapes]
    # 5 is after a shape keyframe and before an outside one: held; 6 to 8 outside;
    # 12 and 13 after the last keyframe: held to the sequence's end.
    assert frames == [0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13]
    by_frame = {s.frame: s for s in shapes}
    assert by_frame[5].geometry == box(4.0, 0.0, 10.0, 10.0) and not by_frame[5].keyframe
    assert by_frame[13].geometry == box(11.0, 0.0, 10.0, 10.0) and not by_frame[13].keyframe
    assert visible_frames(kfs, "box", interpolate=True, frames=14) == frames
    assert visible_frames(kfs, "box", interpolate=False) == [0, 4, 9, 11]


def test_a_track_ending_outside_is_held_up_to_it_only():
    kfs = [{"frame": 2, "box": box(0, 0, 10, 10)}, {"frame": 5, "outside": True}]
    assert [s.frame for s in expand_track(kfs, "box", interpolate=True, frames=20)] == [2, 3, 4]
    # Detection holds nothing: the shape is on its keyframe only.
    assert [s.frame for s in expand_track(kfs, "box", interpolate=False)] == [2]


def test_tracking_needs_the_number_of_frames():
    kfs = [{"frame": 0, "box": box(0, 0, 10, 10)}]
    with pytest.raises(ValueError, match="number of frames"):
        expand_track(kfs, "box", interpolate=True)
    with pytest.raises(ValueError, match="number of frames"):
        keyframes_from_frames([], "box", interpolate=True)


def test_attributes_override_from_their_keyframe_on():
    kfs = [
        {"frame": 0, "box": box(0, 0, 10, 10)},
        {
            "frame": 3,
            "box": box(3, 0, 10, 10),
            "label-category-attributes": {"occluded": "yes"},
        },
        {"frame": 5, "box": box(5, 0, 10, 10)},
    ]
    shapes = expand_track(
        kfs, "box", interpolate=True, frames=6, track_attributes={"occluded": "no", "n": 1}
    )
    by_frame = {s.frame: s.attributes for s in shapes}
    assert by_frame[2] == {"occluded": "no", "n": 1}
    assert by_frame[3] == by_frame[4] == by_frame[5] == {"occluded": "yes", "n": 1}


def test_keypoints_are_linear():
    got = interpolate("keypoint", {"x": 0, "y": 10}, {"x": 10, "y": 0}, 0.25)
    assert got == {"x": 2.5, "y": 7.5}


def test_polygons_with_the_same_count_blend_vertex_by_vertex():
    a = {"points": [[0, 0], [10, 0], [10, 10], [0, 10]]}
    b = {"points": [[20, 0], [30, 0], [30, 10], [20, 10]]}
    got = interpolate("polygon", a, b, 0.5)
    assert got == {"points": [[10.0, 0.0], [20.0, 0.0], [20.0, 10.0], [10.0, 10.0]]}


def test_polygons_with_other_counts_are_resampled_from_the_closest_vertex_pair():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)
    # The same square with a midpoint on each side, drawn from another corner.
    octagon = np.array(
        [[10, 10], [5, 10], [0, 10], [0, 5], [0, 0], [5, 0], [10, 0], [10, 5]], dtype=float
    )
    a, b = align_outlines(square, octagon, closed=True)
    assert a.shape == b.shape == (8, 2)
    # Same outline, same start (the closest pair (0,0)-(0,0)), same winding: identical.
    np.testing.assert_allclose(a, b, atol=1e-9)
    assert tuple(a[0]) == (0.0, 0.0)
    mid = interpolate("polygon", {"points": square.tolist()}, {"points": octagon.tolist()}, 0.5)
    np.testing.assert_allclose(np.array(mid["points"]), a, atol=1e-9)


def test_windings_are_matched_before_resampling():
    ccw = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)
    cw = np.array([[0, 0], [0, 10], [5, 10], [10, 10], [10, 0]], dtype=float)
    assert (signed_area(ccw) > 0) != (signed_area(cw) > 0)
    a, b = align_outlines(ccw, cw, closed=True)
    np.testing.assert_allclose(a, b, atol=1e-9)


def test_polylines_of_other_counts_keep_their_ends():
    line2 = np.array([[0, 0], [10, 0]], dtype=float)
    line3 = np.array([[0, 10], [5, 10], [10, 10]], dtype=float)
    a, b = align_outlines(line2, line3, closed=False)
    np.testing.assert_allclose(a, [[0, 0], [5, 0], [10, 0]])
    np.testing.assert_allclose(b, line3)
    mid = interpolate("polyline", {"points": line2.tolist()}, {"points": line3.tolist()}, 0.5)
    assert mid == {"points": [[0.0, 5.0], [5.0, 5.0], [10.0, 5.0]]}


def test_resampling_spaces_points_by_arc_length():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)
    np.testing.assert_allclose(
        resample_closed(square, 8),
        [[0, 0], [5, 0], [10, 0], [10, 5], [10, 10], [5, 10], [0, 10], [0, 5]],
    )
    np.testing.assert_allclose(resample_open(np.array([[0, 0], [0, 0.0]]), 3), np.zeros((3, 2)))


def test_seqlabel_geometry_round_trips():
    assert to_seqlabel_geometry("box", box(1.004, 2.5, 3.0, 4.0)) == {
        "height": 4,
        "width": 3,
        "top": 2.5,
        "left": 1,
    }
    poly = {"points": [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]}
    written = to_seqlabel_geometry("polygon", poly)
    assert written == {"vertices": [{"x": 0, "y": 1}, {"x": 2, "y": 3}, {"x": 4, "y": 5}]}
    assert from_seqlabel_geometry("polygon", written) == poly
    assert from_seqlabel_geometry("keypoint", {"x": 1, "y": 2}) == {"x": 1.0, "y": 2.0}


def _shapes(track):
    return [FrameShape(s.frame, s.geometry, s.attributes, False) for s in track]


def test_per_frame_shapes_become_few_keyframes_that_expand_back():
    kfs = [
        {"frame": 0, "box": box(0, 0, 10, 10)},
        {"frame": 40, "box": box(400, 0, 10, 10)},
        {"frame": 90, "box": box(400, 250, 60, 10), "label-category-attributes": {"o": "y"}},
        {"frame": 95, "outside": True},
        {"frame": 100, "box": box(0, 0, 10, 10)},
        {"frame": 120, "box": box(20, 0, 10, 10)},
    ]
    per_frame = expand_track(kfs, "box", interpolate=True, frames=150, track_attributes={"o": "n"})
    # The last keyframe (120) holds to frame 149; cut the track at 130 as a per-frame label
    # that ends there would.
    per_frame = [s for s in per_frame if s.frame <= 130]
    back = keyframes_from_frames(_shapes(per_frame), "box", interpolate=True, frames=150, tol=0.01)
    again = expand_track(back, "box", interpolate=True, frames=150)
    assert [s.frame for s in again] == [s.frame for s in per_frame]
    for x, y in zip(again, per_frame, strict=True):
        assert x.attributes == y.attributes
        for k in ("left", "top", "width", "height"):
            assert x.geometry[k] == pytest.approx(y.geometry[k], abs=0.01)
    # 89 / 90: the attributes change; 94 and 130 are held from 90 and 120, so no keyframe.
    assert [k["frame"] for k in back if "box" in k] == [0, 40, 89, 90, 100, 120]
    assert {"frame": 95, "outside": True} in back
    assert back[-1] == {"frame": 131, "outside": True}


def test_a_wobbly_track_keeps_more_keyframes_but_stays_within_tolerance():
    rng = np.random.default_rng(3)
    per_frame = [
        FrameShape(f, box(f * 2 + float(rng.normal(0, 3)), 0, 10, 10), {}, False)
        for f in range(200)
    ]
    back = keyframes_from_frames(per_frame, "box", interpolate=True, frames=200, tol=1.0)
    again = expand_track(back, "box", interpolate=True, frames=200)
    assert [s.frame for s in again] == list(range(200))
    errors = [
        abs(a.geometry["left"] - b.geometry["left"]) for a, b in zip(again, per_frame, strict=True)
    ]
    assert max(errors) <= 1.0
    assert 2 < len(back) < 200


def test_a_track_standing_still_up_to_the_next_block_keeps_its_last_keyframe():
    still = [FrameShape(f, box(0, 0, 10, 10), {}, False) for f in range(5)]
    moved = [FrameShape(f, box(50, 0, 10, 10), {"o": "y"}, False) for f in range(5, 8)]
    back = keyframes_from_frames(still + moved, "box", interpolate=True, frames=8)
    # 4 is kept (else 0 would blend toward 5); 7 is held from 5 to the end.
    assert [k["frame"] for k in back] == [0, 4, 5]
    again = expand_track(back, "box", interpolate=True, frames=8)
    assert [s.geometry["left"] for s in again] == [0.0] * 5 + [50.0] * 3


def test_detection_frames_are_all_keyframes():
    per_frame = [FrameShape(f, {"x": f, "y": 0}, {}, False) for f in (0, 1, 5)]
    back = keyframes_from_frames(per_frame, "keypoint", interpolate=False)
    assert [k["frame"] for k in back] == [0, 1, 5]
    assert all("outside" not in k for k in back)


def test_an_unknown_shape_is_refused():
    with pytest.raises(ValueError, match="cuboid"):
        expand_track([], "cuboid", interpolate=True)
