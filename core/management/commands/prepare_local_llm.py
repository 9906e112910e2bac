"""Convert the embedded LLM's GGUF file to a cached safetensors copy (idempotent)."""

import time

from django.core.management.base import BaseCommand, CommandError

from core.llm import LLMError, local_files, local_models


class Command(BaseCommand):
    help = "Convert SmolLM2's GGUF file once into VALUELAB_MODEL_CACHE, and check it loads."

    def handle(self, *args, **options) -> None:
        try:
            directory, created, seconds = local_files.prepare_chat_model()
        except LLMError as exc:
            raise CommandError(exc.message)
        if created:
            gguf = local_files.CHAT_GGUF
            self.stdout.write(f"Converted {gguf} to {directory} in {seconds:.1f} s.")
        else:
            self.stdout.write(f"The local model is already converted: {directory}.")
        started = time.monotonic()
        import transformers  # noqa: F401  (timed apart: importing it is most of a cold start)

        imported = time.monotonic()
        local_models.load_chat_model()
        self.stdout.write(
            f"Imported transformers in {imported - started:.1f} s, "
            f"loaded the model in {time.monotonic() - imported:.1f} s."
        )
        if local_files.encoder_path() is None:
            self.stdout.write(
                f"The embedding model ({local_files.EMBEDDING_PACKAGE}) is not installed; "
                "local embeddings will fail."
            )
