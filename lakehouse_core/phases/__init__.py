"""The phases of the lakehouse: step engine, phase definitions, runner base and process isolation."""
