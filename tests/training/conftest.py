"""Tiny models built on the spot (no downloads) and a small labelled data set."""

import json
import random

import pytest

from training.schemes import SCHWARTZ10

WORDS = "the a answer helps you with it and this that we can should will".split()


def synthetic_rows(n: int = 240, seed: int = 3) -> list[dict]:
    """Return labelled rows whose security/benevolence labels follow words in the response."""
    rng = random.Random(seed)
    cues = [
        ("safe locked protected", {"security": 1}),
        ("danger risky unlocked", {"security": -1}),
        ("kind caring gentle", {"benevolence": 1}),
        ("cruel mean harsh", {"benevolence": -1}),
        ("weather table window", {}),
    ]
    rows = []
    for index in range(n):
        cue_words, cue_labels = cues[index % len(cues)]
        filler = " ".join(rng.choice(WORDS) for _ in range(6))
        cue = rng.choice(cue_words.split())
        labels = {key: 0 for key in SCHWARTZ10} | cue_labels
        rows.append(
            {
                "id": f"row-{index}",
                "prompt": f"Question number {index}: what should I do?",
                "response": f"{filler} {cue} {filler}",
                "labels": labels,
            }
        )
    return rows


@pytest.fixture
def labelled_file(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in synthetic_rows()) + "\n")
    return path


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory):
    """Return the folder of a 2-layer BERT with random weights and a freshly trained tokenizer."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from tokenizers.processors import TemplateProcessing
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    texts = [row["prompt"] + " " + row["response"] for row in synthetic_rows()]
    tokenizer.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials)
    )
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    fast = BertTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    fast.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(fast),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    return folder


# A chat template in the shape of SmolLM2's (ChatML), with its own turn markers.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _tiny_llama(folder, *, chat: bool):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<unk>", "<s>", "</s>", "<pad>"] + (["<|im_start|>", "<|im_end|>"] if chat else [])
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    texts = [row["prompt"] + " " + row["response"] for row in synthetic_rows()]
    tokenizer.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=400,
            special_tokens=specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="<|im_end|>" if chat else "</s>",
        pad_token="<pad>",
    )
    if chat:
        fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_policy(tmp_path_factory):
    """Return the folder of a 2-layer Llama base model (no chat template), random weights."""
    return _tiny_llama(tmp_path_factory.mktemp("tiny-llama"), chat=False)


@pytest.fixture(scope="session")
def tiny_chat_policy(tmp_path_factory):
    """Return the folder of a 2-layer Llama whose tokenizer has a ChatML chat template."""
    return _tiny_llama(tmp_path_factory.mktemp("tiny-chat-llama"), chat=True)


@pytest.fixture(scope="session")
def tiny_evaluator(tiny_encoder, tmp_path_factory):
    """Return the folder of an evaluator trained for a few steps on the synthetic cues."""
    from training import evaluator, labelled_data
    from training.schemes import SCHWARTZ10

    folder = tmp_path_factory.mktemp("evaluators")
    data = folder / "rows.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in synthetic_rows(60)))
    examples = labelled_data.read_examples(data, dimensions=SCHWARTZ10)
    splits = labelled_data.split_by_prompt(examples, dimensions=SCHWARTZ10)
    config = evaluator.TrainConfig(
        base_model=str(tiny_encoder),
        dimensions=SCHWARTZ10,
        epochs=1,
        max_length=64,
        max_steps=3,
    )
    model, tokenizer, report = evaluator.train(splits, config)
    return evaluator.save(
        model,
        tokenizer,
        folder / "tiny",
        config=config,
        report=report,
        dataset={"content_hash": splits.content_hash},
    )
