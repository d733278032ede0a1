"""The `template` job settings section: a custom job's worker task template."""

from __future__ import annotations

from truthset.jobs.settings import SettingsSection
from truthset.templates.service import after_create, check_change, check_section

TEMPLATE_SECTION = SettingsSection(
    key="template",
    description=(
        'a custom job\'s worker task template: {"html": <HTML + Liquid>, "source": <where'
        " it came from>}; parsed on create (errors name the line), its crowd elements kept"
        " in the label config, never changed afterwards"
    ),
    check=check_section,
    check_change=check_change,
    after_create=after_create,
)
