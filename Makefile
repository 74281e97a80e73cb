# Developer shortcuts. The commands themselves live in `ce-credit` (ce_xblock/cli*.py).
PYTHON ?= .venv/bin/python
CE_CREDIT = $(PYTHON) -c "from ce_xblock.cli import main; main()"

.PHONY: translations extract_translations update_translations compile_translations check_translations

## translations: extract the strings, merge them into every catalogue and compile (.mo and JS)
translations: extract_translations update_translations compile_translations

extract_translations:
	$(CE_CREDIT) i18n extract

update_translations:
	$(CE_CREDIT) i18n update

compile_translations:
	$(CE_CREDIT) i18n compile

## check_translations: fail when a catalogue is out of date with the sources or incomplete (CI)
check_translations:
	$(CE_CREDIT) i18n check
