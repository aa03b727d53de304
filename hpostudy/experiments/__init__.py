"""One module per chapter: a validated ``Config`` (values per profile) and ``run(cfg)``, which
returns tidy pandas tables and writes them (CSV) into ``cfg.output_dir``."""
