"""Optional OpenTelemetry tracing: a span per gRPC call, sent to an OTLP collector.

Off unless HARBOUR_OTEL_ENDPOINT is set, and then only if the ``otel`` extra is installed
(``pip install 'harbour-ledger[otel]'``: opentelemetry-sdk, opentelemetry-instrumentation-grpc
and the OTLP exporter) — otherwise one warning line says why there are no traces and the
process runs on. The default install carries none of it.

The spans come from OpenTelemetry's own gRPC server interceptor, placed before the Harbour
interceptor, so a span covers authentication, the handler and the refusal it may end in.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from harbour.runtime.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger("harbour.tracing")
EXTRA_HINT = "pip install 'harbour-ledger[otel]'"


def tracer_provider(
    settings: Settings, process: str, *, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """A tracer provider exporting ``process``'s spans to HARBOUR_OTEL_ENDPOINT (or to
    ``exporter``, a test's in-memory one); None when tracing is off or cannot be had."""
    if exporter is None and not settings.otel_endpoint:
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning(
            "HARBOUR_OTEL_ENDPOINT is set but OpenTelemetry is not installed (%s): no traces",
            EXTRA_HINT,
        )
        return None
    if exporter is None:
        exporter = _otlp_exporter(settings.otel_endpoint or "")
        if exporter is None:
            return None
    provider = TracerProvider(resource=Resource.create({"service.name": f"harbour-{process}"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    log.info("%s: tracing to %s", process, settings.otel_endpoint or type(exporter).__name__)
    return provider


def _otlp_exporter(endpoint: str) -> SpanExporter | None:
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    except ImportError:
        log.warning(
            "HARBOUR_OTEL_ENDPOINT is set but the OTLP exporter is not installed (%s): no traces",
            EXTRA_HINT,
        )
        return None
    exporter: SpanExporter = OTLPSpanExporter(endpoint=endpoint)
    return exporter


def server_interceptors(provider: TracerProvider | None) -> list[Any]:
    """The gRPC server interceptors that trace calls (none without a provider)."""
    if provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    # The instrumentation ships without type hints.
    return [aio_server_interceptor(tracer_provider=provider)]  # type: ignore[no-untyped-call]
