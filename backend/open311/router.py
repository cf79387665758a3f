"""/open311/v2: Open311 GeoReport v2 (XML required by the spec, JSON optional) over reports.

``GET services.{format}``, ``GET services/{service_code}.{format}``, ``GET requests.{format}``,
``GET requests/{service_request_id}.{format}`` (the spec's path; swagger.json's ``/request/`` is a slip) and
``POST requests.{format}`` (``api_key`` required). Every error, including bad parameters and unknown paths
under the prefix, is rendered in the spec's error format and in the requested format (``Open311Route``), not
in the app's JSON shape.

The routes are left out of the OpenAPI document: their contract is the GeoReport v2 spec (and its schemas),
their errors do not use the app's shape, and the format suffix would only add noise to the generated client.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from tortoise.exceptions import IntegrityError

from backend.core.errors import AppError, BadRequest, Conflict
from backend.open311 import render, service, views
from backend.open311.dependencies import ApiClient, Filters, Format, PostedBody
from backend.open311.exceptions import BadParameter, Open311NotFound, ServiceRequestNotFound
from backend.open311.render import Document
from backend.open311.schemas import NewRequest
from backend.reports.categories import taxonomy

log = logging.getLogger(__name__)


def _format_of(request: Request) -> str:
    fmt = request.path_params.get("format")
    if fmt in render.FORMATS:
        return fmt
    return "json" if request.url.path.endswith(".json") else "xml"  # XML is the format the spec requires


class Open311Route(APIRoute):
    """Renders every failure of these routes as ``<errors>`` / ``[{code, description}]`` with the spec's
    HTTP status (403 api_key, 404 not found, 400 anything else the client can fix)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except AppError as exc:
                error = exc
            except RequestValidationError as exc:
                error = BadParameter(detail=render.field_errors(list(exc.errors())))
            except StarletteHTTPException as exc:
                error = AppError(status_code=exc.status_code)
                error.message = "请求无法处理" if exc.status_code != 404 else Open311NotFound.message
            except IntegrityError:
                error = Conflict("数据与已有记录冲突，请重试")
            except Exception:
                log.exception("open311: unhandled error on %s %s", request.method, request.url.path)
                error = AppError()
            return render.error_response(error, _format_of(request))

        return run


router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route, include_in_schema=False)


@router.get("/services.{format}")
async def list_services(fmt: Format):
    """GET Service List: one service per report sub-category."""
    return render.respond(Document("services", views.services()), fmt)


@router.get("/services/{service_code}.{format}")
async def service_definition(service_code: str, fmt: Format):
    """GET Service Definition (no category has extra attributes yet: an empty list)."""
    found = service.category(service_code)
    return render.respond(Document("service_definition", views.definition(found)), fmt)


@router.get("/requests.{format}")
async def list_requests(fmt: Format, filters: Filters):
    """GET Service Requests: the last 90 days by default, at most 1000, newest first."""
    return render.respond(Document("service_requests", await service.service_requests(filters)), fmt)


@router.get("/requests/{service_request_id}.{format}")
async def get_request(service_request_id: str, fmt: Format):
    """GET Service Request: a list of one, as the spec shows it."""
    if not service_request_id.isdigit() or len(service_request_id) > 18:
        raise ServiceRequestNotFound()
    found = await service.service_request(int(service_request_id))
    return render.respond(Document("service_requests", [found]), fmt)


@router.post("/requests.{format}")
async def create_request(fmt: Format, client: ApiClient, posted: PostedBody):
    """POST Service Request: file a report as the client (form-encoded as in the spec, or JSON)."""
    created = await service.file_request(client, NewRequest.parse(posted))
    return render.respond(Document("service_requests", [created]), fmt)


@router.api_route("/{anything:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
async def not_found(anything: str):
    """Anything else under the prefix: the spec's 404, not the app's."""
    if anything.startswith("tokens/"):
        raise BadRequest("本服务的分类均为 realtime：提交后直接返回 service_request_id，不使用 token")
    raise Open311NotFound()


taxonomy()  # the categories are validated when the app is built (as the reports router does)
