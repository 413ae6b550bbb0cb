"""Zendesk Support: one ``PUT /api/v2/tickets/{id}`` (developer.zendesk.com/api-reference/ticketing/tickets/tickets).

The label and band go into drop-down custom fields whose option values are the tags
``ticketguard_<label>`` and ``ticketguard_band_<band>``; the label tag is also added with
``additional_tags`` and the other label tags removed with ``remove_tags``, which change only those
tags (``tags`` would replace the whole list). A new label in ``note_labels`` adds a private
comment (``public: false``). Authentication: API token, ``Basic base64("{email}/token:{token}")``.
"""

from __future__ import annotations

import base64
from typing import Any

from ticketguard.models.labels import LABELS
from ticketguard.service.settings import ZendeskWriteback
from ticketguard.service.writeback.base import TAG_PREFIX, HttpCall, WriteRequest, note_text


def label_tag(label: str) -> str:
    return f"{TAG_PREFIX}{label}"


def band_tag(band: str) -> str:
    return f"{TAG_PREFIX}band_{band}"


class ZendeskWriter:
    name = "zendesk"

    def __init__(self, config: ZendeskWriteback) -> None:
        self.config = config
        self.base_url = config.url()

    def headers(self) -> dict[str, str]:
        credentials = f"{self.config.email}/token:{self.config.api_token.get_secret_value()}"
        return {"Authorization": "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")}

    def calls(self, request: WriteRequest) -> list[HttpCall]:
        fields: list[dict[str, Any]] = [{"id": self.config.label_field_id, "value": label_tag(request.label)}]
        if self.config.band_field_id is not None:
            fields.append({"id": self.config.band_field_id, "value": band_tag(request.band)})
        ticket: dict[str, Any] = {
            "custom_fields": fields,
            "additional_tags": [label_tag(request.label)],
            "remove_tags": [label_tag(label) for label in LABELS if label != request.label],
        }
        if request.new_label and request.label in self.config.note_labels:
            ticket["comment"] = {"body": note_text(request), "public": False}
        return [HttpCall("PUT", f"/api/v2/tickets/{request.ticket_id}", {"ticket": ticket})]
