"""Answers that are files to download, shared by the API and the dashboard."""

from __future__ import annotations

from fastapi import Response


def csv_download(text: str, filename: str) -> Response:
    """``text`` as a UTF-8 CSV file the browser saves as ``filename``."""
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
