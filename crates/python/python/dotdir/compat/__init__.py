"""Drop-in replacements for the storage modules of existing apps, on dotdir's primitives.

- :mod:`dotdir.compat.ollim_storage` — ollim-bot's ``storage.py``.
"""
