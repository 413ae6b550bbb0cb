"""Front: ``POST /conversations/{id}/tags`` with ``{"tag_ids": [...]}`` (dev.frontapp.com, "Add conversation
tag"); it adds tags without touching the others. Bearer API token. The band is not written (Front
conversations have no custom fields writable by tag alone)."""

from __future__ import annotations

from ticketguard.service.settings import FrontWriteback
from ticketguard.service.writeback.base import HttpCall, WriteRequest


class FrontWriter:
    name = "front"

    def __init__(self, config: FrontWriteback) -> None:
        self.config = config
        self.base_url = config.url()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.api_token.get_secret_value()}"}

    def calls(self, request: WriteRequest) -> list[HttpCall]:
        tag_id = self.config.tag_ids.get(request.label)
        if not tag_id or not request.new_label:
            return []
        return [HttpCall("POST", f"/conversations/{request.ticket_id}/tags", {"tag_ids": [tag_id]})]
