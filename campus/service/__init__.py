"""The data service: the campus's gateway over HTTP, for notebooks and other clients.

``campus serve`` starts it (standalone on 127.0.0.1:8300, or as a JupyterHub service
under ``JUPYTERHUB_SERVICE_PREFIX``). Its JSON API lives under ``<prefix>api/``:

===================================================  =============================================================
``GET  /api/health``                                 ``{"status": "ok"}``; no token needed
``GET  /api/me``                                     ``{"user", "groups", "via"}``: who the service takes you for
``GET  /api/datasets``                               the datasets you may use: name, title, tier, entity, mode, grant, columns
``GET  /api/datasets/{name}``                        one of them, each column with type, role, unit, description
``POST /api/sql``                                    ``{"sql": "...", "project": null}`` → the result (below)
``GET  /api/budget``                                 the disclosure budgets that apply to you: limit, spent, left, renewal
``POST /api/cost``                                   ``{"sql", "project"}`` → the most cells the query can charge, and what is left
``POST /api/explain``                                ``{"dataset", "columns", "shape", "action", "project"}`` → the policy's decision
``POST /api/exports``                                ask to export a query's result (the export airlock, `campus.airlock.web`)
``POST /api/exports/files``                          ask to export a file (multipart: ``file``, ``description``, ``project``, ``name``)
``GET  /api/exports``                                export requests: ``?view=mine|queue|decided``
``GET  /api/exports/{request_id}``                   one request, with its checks
``GET  /api/exports/{request_id}/history``           earlier releases by the same requester or project (reviewers)
``POST /api/exports/{request_id}/review``            a reviewer approves, rejects or returns it
``POST /api/exports/{request_id}/release``           release an approved request
``POST /api/exports/{request_id}/resubmit``          send a returned request back, changed
``POST /api/exports/{request_id}/resubmit/file``     the same, with a new file
``POST /api/exports/{request_id}/withdraw``          the requester withdraws it
``GET  /api/exports/{request_id}/download``          the released content, for its requester (audited)
``GET  /api/openapi.json``                           this API as OpenAPI (there are no docs pages: they would load scripts from a CDN)
===================================================  =============================================================

``/api/datasets``, ``/api/datasets/{name}`` and ``/api/budget`` take ``?project=``. Every
request but health and the OpenAPI document carries ``Authorization: token <token>``: a
JupyterHub token scoped to the service inside the hub, a ``campus tokens create`` token
outside it.

Beside the API, at the service's root, are pages for a signed-in browser
(``/sign-in``, ``/sign-out``, ``/oauth_callback``; `campus.service.browser`): the home page
(``/``, ``/guide``), the budgets (``/budget``) and the airlock's review pages (``/airlock``,
``/airlock/{request_id}``).

**Results.** ``POST /api/sql`` answers with one Arrow IPC stream by default
(``application/vnd.apache.arrow.stream``): the table with its exact types, and in the
schema's metadata under ``campus`` the JSON ``{"report", "notes", "decisions"}`` —
the whole `Result` in one response, without the size limits of headers or the cost
of multipart parsing. ``Accept: application/json`` gets ``{"columns", "rows",
"report", "notes", "decisions"}`` instead, for curl and small results
(`campus.service.wire` has both forms and their inverses).

**Errors** are ``{"code", "reason"}``: 400 query_rejected, 401 unauthenticated /
invalid_token / token_expired, 403 denied / forbidden, 404 not_found, 413
request_too_large, 422 invalid_request, 500 gateway_failure / internal_error, 502
hub_unavailable, 503 data_missing, 504 query_timeout (`campus.service.errors`).
"""

from __future__ import annotations


def create_app(*args, **kwargs):
    """`campus.service.app.create_app` (FastAPI loads only when an app is made)."""
    from .app import create_app

    return create_app(*args, **kwargs)
