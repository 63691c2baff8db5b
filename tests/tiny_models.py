"""Tiny randomly initialised models of every supported architecture, built in-process.

They test the architecture plumbing fast; they never stand in for the real model,
which has its own tests.
"""

from __future__ import annotations

from pathlib import Path

VOCAB = 384
_CORPUS = [
    "John and Mary went to the bar. John bought a drink for Mary.",
    "The cat went up the stairs. NEXT next Next .",
    "A quick brown fox jumps over the lazy dog, again and again!",
]


def tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - 8, special_tokens=["<eos>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>")


def _common(n_layers: int = 3, d: int = 32, heads: int = 4, ctx: int = 64) -> dict:
    return dict(vocab_size=VOCAB, num_hidden_layers=n_layers, hidden_size=d, num_attention_heads=heads,
                intermediate_size=2 * d, max_position_embeddings=ctx)


def _llama_like(cls_name: str, **extra):
    def make():
        import transformers

        cfg = getattr(transformers, cls_name)(**_common(), num_key_value_heads=2, **extra)
        return cfg
    return make


def config_for(arch: str):
    import transformers as tf

    if arch == "gpt2":
        return tf.GPT2Config(vocab_size=VOCAB, n_layer=3, n_embd=32, n_head=4, n_positions=64)
    if arch == "opt-125m":
        return tf.OPTConfig(vocab_size=VOCAB, num_hidden_layers=3, hidden_size=32, ffn_dim=64,
                            num_attention_heads=4, max_position_embeddings=64, word_embed_proj_dim=32)
    if arch == "opt-350m":
        # No final norm (post-norm blocks) and a 32 -> 16 project_out before the head.
        return tf.OPTConfig(vocab_size=VOCAB, num_hidden_layers=3, hidden_size=32, ffn_dim=64,
                            num_attention_heads=4, max_position_embeddings=64, word_embed_proj_dim=16,
                            do_layer_norm_before=False)
    if arch == "gpt-neox":
        return tf.GPTNeoXConfig(**_common(), tie_word_embeddings=False)
    if arch == "llama":
        return tf.LlamaConfig(**_common(), num_key_value_heads=2, tie_word_embeddings=True)
    if arch == "mistral":
        return tf.MistralConfig(**_common(), num_key_value_heads=2)
    if arch == "qwen2":
        return tf.Qwen2Config(**_common(), num_key_value_heads=2)
    if arch == "gemma":
        return tf.GemmaConfig(**_common(), num_key_value_heads=2, head_dim=8)
    if arch == "gemma2":
        return tf.Gemma2Config(**_common(), num_key_value_heads=2, head_dim=8, final_logit_softcapping=5.0)
    if arch == "gemma3":
        return tf.Gemma3TextConfig(**_common(), num_key_value_heads=2, head_dim=8, final_logit_softcapping=5.0)
    if arch == "phi":
        return tf.PhiConfig(**_common())
    if arch == "phi3":
        return tf.Phi3Config(**_common(), num_key_value_heads=2, pad_token_id=0)
    raise KeyError(arch)


ARCHS = ["gpt2", "opt-125m", "opt-350m", "gpt-neox", "llama", "mistral", "qwen2", "gemma", "gemma2", "gemma3", "phi", "phi3"]


def make_model(arch: str, seed: int = 0, dtype=None):
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    cfg = config_for(arch)
    model = AutoModelForCausalLM.from_config(cfg)
    # Random init gives near-zero logits everywhere; scale up so tests see real differences.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 1:
                p.add_(torch.randn_like(p) * 0.2)
    model.eval()
    if dtype is not None:
        model = model.to(dtype)
    return model


def save_tiny(arch: str, folder: Path, safe: bool = True, seed: int = 0) -> Path:
    model = make_model(arch, seed)
    model.save_pretrained(folder)
    if not safe:
        # transformers 5 always writes safetensors; make the pickled checkpoint by hand.
        import torch

        for st in folder.glob("*.safetensors"):
            st.unlink()
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
    tiny_tokenizer().save_pretrained(folder)
    return folder
