import numpy as np
import pytest

from segnet_tf.classes import CAMVID_CLASS_WEIGHTS, CAMVID_CLASSES, ClassList


def test_camvid_classes_match_shared_readme():
    assert CAMVID_CLASSES.num_classes == 11
    assert CAMVID_CLASSES.void_id == 11
    assert CAMVID_CLASSES.names[3] == "Road" and CAMVID_CLASSES.names[11] == "Unlabelled"
    assert CAMVID_CLASSES.colors[4] == (60, 40, 222)
    assert CAMVID_CLASSES.colors[10] == (0, 128, 192)
    pal = CAMVID_CLASSES.palette()
    assert pal.shape == (12, 3) and pal.dtype == np.uint8
    assert tuple(pal[11]) == (0, 0, 0)
    assert len(CAMVID_CLASS_WEIGHTS) == 11 and CAMVID_CLASS_WEIGHTS[6] == pytest.approx(9.6446)


def test_json_round_trip():
    again = ClassList.from_json(CAMVID_CLASSES.to_json())
    assert again == CAMVID_CLASSES
    assert ClassList.from_dict(CAMVID_CLASSES.to_dict()) == CAMVID_CLASSES
    no_void = ClassList(("x", "y"), ((1, 2, 3), (4, 5, 6)), None)
    assert no_void.num_classes == 2 and no_void.palette().shape == (2, 3)
    assert ClassList.from_json(no_void.to_json()) == no_void


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(names=("a", "b"), colors=((0, 0, 0),), void_id=None), "colors"),
        (dict(names=("a", "a"), colors=((0, 0, 0), (1, 1, 1)), void_id=None), "duplicated"),
        (dict(names=("a",), colors=((0, 0, 256),), void_id=None), "0..255"),
        (dict(names=("a", "b"), colors=((0, 0, 0), (0, 0, 0)), void_id=None), "share a colour"),
        (dict(names=("a", "b", "v"), colors=((0, 0, 0), (1, 0, 0), (2, 0, 0)), void_id=0), "last"),
        (dict(names=(), colors=(), void_id=None), "empty"),
    ],
)
def test_validation_errors(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        ClassList(**kwargs)


def test_frozen():
    with pytest.raises(AttributeError):
        CAMVID_CLASSES.void_id = 3  # type: ignore[misc]
