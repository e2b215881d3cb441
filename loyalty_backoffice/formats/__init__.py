"""Our formats per language (FORMAT_MODULE_PATH): one date and time format everywhere, the
zone named after every time, and the separators staff of each language write amounts with.
What a module leaves out comes from Django's own locale formats."""
