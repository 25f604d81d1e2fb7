"""The notebook client: the campus's data service from a kernel, with nothing to configure.

::

    import campus
    r = campus.sql("SELECT district, sum(amount) AS total FROM card_usage GROUP BY district")
    r.pl(); r.df(); r.arrow(); r.report      # the same Result as in-process
    campus.datasets()                         # what you may use
    campus.describe("card_usage")             # its columns, with their roles
    campus.explain("card_usage", ["card_id"]) # may I? and why not
    campus.cost(sql)                          # the most cells it can charge, before running it
    campus.budget()                           # the budgets that apply to you, and what is left
    campus.export(sql, "spend_by_district", "for the retail report")   # ask to take a table out
    campus.export_file("figure.png", "map of spending")                 # or a file from the workspace
    campus.exports()                          # your export requests and where they stand
    campus.resubmit(7, path="figure.png")     # a returned request, with a new file (or sql=...)
    campus.withdraw(7)                        # or give it up
    campus.plot(r, x="district", y="total").savefig("figure.png")     # its released values, error bars

Inside a campus notebook the token is the kernel's ``JUPYTERHUB_API_TOKEN`` and the
service's address is ``CAMPUS_SERVICE_URL``, both set by the hub; elsewhere set ``CAMPUS_SERVICE_URL`` and
``CAMPUS_API_TOKEN`` (from ``campus tokens create``). The service's refusals are
raised as the same exceptions the gateway raises in-process (`campus.Denied`,
`campus.QueryRejected`, ...), with the service's reason. A query running longer than
a second shows its elapsed time; ``%load_ext campus`` adds the ``%%sql`` cell magic.

Modules: `http` (`Client`: the service over HTTP), `progress` (the elapsed time while a
query runs), `notebook` (``campus.sql(...)`` and its siblings, ``%%sql``, refusals shown
plainly in a notebook), `figure` (``campus.plot``: a result's released values as a
figure). Their public names are here.
"""

from .figure import CannotPlot, plot
from .http import Client, Description, Export, ServiceUnreachable, api_token, service_url
from .notebook import (
    budget,
    cost,
    datasets,
    default,
    describe,
    explain,
    export,
    export_file,
    exports,
    guide,
    load_ipython_extension,
    magic_arguments,
    resubmit,
    sql,
    sql_magic,
    withdraw,
)
from .progress import waiting

__all__ = [
    "CannotPlot", "Client", "Description", "Export", "ServiceUnreachable", "api_token", "budget", "cost", "datasets",
    "default", "describe", "explain", "export", "export_file", "exports", "guide", "load_ipython_extension",
    "magic_arguments", "plot", "resubmit", "service_url", "sql", "sql_magic", "waiting", "withdraw",
]
