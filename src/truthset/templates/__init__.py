"""Ground Truth worker task templates: Liquid rendering with Ground Truth's filters, the
crowd elements a template declares, custom jobs' settings section and task page."""
