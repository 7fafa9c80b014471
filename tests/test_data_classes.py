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


# ---- the one class-list reader: the rules of the data sets and of model sidecars ----


def _class_list_readers(tmp_path):
    """Every way a class-list file is read, each returning a ClassList or raising."""
    from segnet_tf.classes import read_class_list
    from segnet_tf.data.folders import load_class_list
    from segnet_tf.inference import read_sidecar_classes

    def sidecar(path):
        model = path.with_name("model.keras")  # looks for model.json, then classes.json
        return read_sidecar_classes(model)

    return {"read_class_list": read_class_list, "data": load_class_list, "sidecar": sidecar}


@pytest.mark.parametrize(
    "content",
    [
        CAMVID_CLASSES.to_json(),  # the data-set rule: ClassList.to_json() output
        '{"classes": ' + CAMVID_CLASSES.to_json() + ', "trained_on": "CamVid"}',  # sidecars
    ],
)
def test_every_reader_accepts_both_class_list_layouts(tmp_path, content):
    path = tmp_path / "classes.json"
    path.write_text(content, encoding="utf-8")
    for read in _class_list_readers(tmp_path).values():
        assert read(path) == CAMVID_CLASSES


@pytest.mark.parametrize(
    "content, needle",
    [
        (b"{not json", "invalid JSON"),
        (b"[1, 2]", "expected a JSON object with 'names' and 'colors'"),
        (b'{"names": ["a"]}', r"not a valid class list: .*missing keys \['colors'\]"),
        (b'{"names": ["a", "b"], "colors": [[0, 0, 0], [0, 0, 0]]}', "share a colour"),
        (b"\xff\xfe not utf-8", "not UTF-8 text"),
    ],
)
def test_every_reader_refuses_a_bad_class_list_alike(tmp_path, content, needle):
    from segnet_tf.classes import parse_class_list
    from segnet_tf.errors import DataError

    path = tmp_path / "classes.json"
    path.write_bytes(content)
    messages = set()
    for read in _class_list_readers(tmp_path).values():
        with pytest.raises(DataError, match=needle) as info:
            read(path)
        assert str(info.value).startswith(f"{path}: ")
        messages.add(str(info.value))
    assert len(messages) == 1  # one parser, one message
    # The demo's uploaded class list (bytes) goes through the same parser.
    with pytest.raises(DataError, match=needle):
        parse_class_list(content, "class list")


def test_missing_class_list_file_names_it(tmp_path):
    from segnet_tf.classes import read_class_list
    from segnet_tf.errors import DataError

    with pytest.raises(DataError, match="cannot read the class list") as info:
        read_class_list(tmp_path / "absent.json")
    assert str(tmp_path / "absent.json") in str(info.value)
