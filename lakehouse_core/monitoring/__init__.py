"""Monitoring as code: the one definition of every metrics panel and alert (``definition``), the rule
evaluation the TUI uses (``rules``), and the generators of the Prometheus rule file and the Grafana
dashboard (``generate``)."""
