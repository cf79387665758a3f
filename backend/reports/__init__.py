"""Resident reports: 吹哨报到 and 说议办评晒 (report, deliberate, handle, rate, publish). See docs/reports.md."""
