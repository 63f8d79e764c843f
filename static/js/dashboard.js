/* The dashboard's graphs (templates/reports/dashboard.html), drawn with uPlot
 * (static/vendor/uplot, MIT). No other dependency, no network but this server.
 *
 * Each <section data-graph> embeds its numbers as JSON (the answer of its data-url:
 * {from, to, dates, series: [{key, label, values}], updated, empty}) and gets:
 * - a checkbox per series to show or hide it, with a swatch of its dash pattern and
 *   marker: every series differs in line and marker, not only in colour;
 * - a readout of the values under the pointer, and its table rebuilt on every update;
 * - the empty state instead of the plot when there is nothing to draw.
 * The range links and the date form fetch every graph for the new range in place (the
 * address follows, so reload and Back work). The numbers are fetched again every
 * data-poll-seconds while the tab is visible; a hidden tab does not poll and catches up
 * once it is shown again.
 */
(function () {
  "use strict";

  var dashboard = document.querySelector("[data-dashboard]");
  if (!dashboard || typeof window.uPlot !== "function") {
    return; // the tables show the numbers
  }
  var uPlot = window.uPlot;
  var SVG = "http://www.w3.org/2000/svg";
  var pollSeconds = Number(dashboard.getAttribute("data-poll-seconds")) || 60;

  // Okabe-Ito colours (told apart with most colour blindness), each with its own dash
  // pattern and marker shape.
  var LICENSE_STYLES = {
    premiumUsed: { color: "#0072B2", dash: [], shape: "square", hollow: false },
    premiumTotal: { color: "#0072B2", dash: [9, 5], shape: "square", hollow: true },
    standardUsed: { color: "#D55E00", dash: [], shape: "circle", hollow: false },
    standardTotal: { color: "#D55E00", dash: [9, 5], shape: "circle", hollow: true },
  };
  var APP_STYLES = [
    { color: "#0072B2", dash: [], shape: "circle", hollow: false },
    { color: "#E69F00", dash: [10, 4], shape: "square", hollow: false },
    { color: "#009E73", dash: [2, 3], shape: "triangle", hollow: false },
    { color: "#CC79A7", dash: [12, 4, 2, 4], shape: "diamond", hollow: false },
    { color: "#D55E00", dash: [5, 5], shape: "cross", hollow: false },
    { color: "#4D4D4D", dash: [1, 4], shape: "plus", hollow: false },
  ];
  var MARKER_SPACING = 28; // CSS pixels between markers, at least
  var MARKER_RADIUS = 4;

  function styleOf(name, key, index) {
    if (name === "licenses" && LICENSE_STYLES[key]) {
      return LICENSE_STYLES[key];
    }
    return APP_STYLES[index % APP_STYLES.length];
  }

  // --- Markers ------------------------------------------------------------------------

  function addShape(path, shape, x, y, r) {
    switch (shape) {
      case "square":
        path.rect(x - r, y - r, 2 * r, 2 * r);
        break;
      case "triangle":
        path.moveTo(x, y - 1.25 * r);
        path.lineTo(x + 1.2 * r, y + r);
        path.lineTo(x - 1.2 * r, y + r);
        path.closePath();
        break;
      case "diamond":
        path.moveTo(x, y - 1.35 * r);
        path.lineTo(x + 1.35 * r, y);
        path.lineTo(x, y + 1.35 * r);
        path.lineTo(x - 1.35 * r, y);
        path.closePath();
        break;
      case "cross":
        path.moveTo(x - r, y - r);
        path.lineTo(x + r, y + r);
        path.moveTo(x + r, y - r);
        path.lineTo(x - r, y + r);
        break;
      case "plus":
        path.moveTo(x - 1.2 * r, y);
        path.lineTo(x + 1.2 * r, y);
        path.moveTo(x, y - 1.2 * r);
        path.lineTo(x, y + 1.2 * r);
        break;
      default:
        path.moveTo(x + r, y);
        path.arc(x, y, r, 0, 2 * Math.PI);
    }
  }

  function isOpenShape(shape) {
    return shape === "cross" || shape === "plus";
  }

  // uPlot's points hook: the style's shape at every marked point, in canvas pixels.
  function markerPaths(shape) {
    return function (u, seriesIndex, i0, i1, indexes) {
      var path = new Path2D();
      var ys = u.data[seriesIndex];
      var r = MARKER_RADIUS * uPlot.pxRatio;
      (indexes || []).forEach(function (i) {
        if (ys[i] == null) {
          return;
        }
        addShape(path, shape, u.valToPos(u.data[0][i], "x", true), u.valToPos(ys[i], "y", true), r);
      });
      return { stroke: path, fill: isOpenShape(shape) ? null : path };
    };
  }

  // Every n-th point, so markers stay apart however many days are shown.
  function markerIndexes(u, seriesIndex) {
    var count = u.data[0].length;
    if (!count) {
      return [];
    }
    var width = u.bbox.width / uPlot.pxRatio;
    var step = Math.max(1, Math.ceil(MARKER_SPACING / (width / count)));
    var indexes = [];
    for (var i = count - 1; i >= 0; i -= step) {
      indexes.push(i); // from the newest day, so today always has its marker
    }
    return indexes;
  }

  function swatch(style) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("width", "40");
    svg.setAttribute("height", "14");
    svg.setAttribute("viewBox", "0 0 40 14");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var line = document.createElementNS(SVG, "line");
    line.setAttribute("x1", "1");
    line.setAttribute("y1", "7");
    line.setAttribute("x2", "39");
    line.setAttribute("y2", "7");
    line.setAttribute("stroke", style.color);
    line.setAttribute("stroke-width", "2");
    if (style.dash.length) {
      line.setAttribute("stroke-dasharray", style.dash.join(" "));
    }
    svg.appendChild(line);
    var marker = document.createElementNS(SVG, "path");
    marker.setAttribute("d", shapeSvg(style.shape, 20, 7, 4));
    marker.setAttribute("stroke", style.color);
    marker.setAttribute("stroke-width", "1.5");
    marker.setAttribute(
      "fill",
      isOpenShape(style.shape) ? "none" : style.hollow ? "#fff" : style.color
    );
    svg.appendChild(marker);
    return svg;
  }

  function shapeSvg(shape, x, y, r) {
    var p = function (a, b) {
      return a.toFixed(2) + " " + b.toFixed(2);
    };
    switch (shape) {
      case "square":
        return "M" + p(x - r, y - r) + "H" + (x + r) + "V" + (y + r) + "H" + (x - r) + "Z";
      case "triangle":
        return "M" + p(x, y - 1.25 * r) + "L" + p(x + 1.2 * r, y + r) + "L" + p(x - 1.2 * r, y + r) + "Z";
      case "diamond":
        return (
          "M" + p(x, y - 1.35 * r) + "L" + p(x + 1.35 * r, y) + "L" + p(x, y + 1.35 * r) +
          "L" + p(x - 1.35 * r, y) + "Z"
        );
      case "cross":
        return "M" + p(x - r, y - r) + "L" + p(x + r, y + r) + "M" + p(x + r, y - r) + "L" + p(x - r, y + r);
      case "plus":
        return "M" + p(x - 1.2 * r, y) + "L" + p(x + 1.2 * r, y) + "M" + p(x, y - 1.2 * r) + "L" + p(x, y + 1.2 * r);
      default:
        return "M" + p(x - r, y) + "A" + r + " " + r + " 0 1 0 " + p(x + r, y) + "A" + r + " " + r + " 0 1 0 " + p(x - r, y);
    }
  }

  // --- One graph ------------------------------------------------------------------------

  function dayStamp(iso) {
    var parts = iso.split("-");
    return Date.UTC(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2])) / 1000;
  }

  function niceCeiling(value) {
    if (value <= 5) {
      return 5;
    }
    var power = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * power >= value) {
        return steps[i] * power;
      }
    }
    return 10 * power;
  }

  function Graph(section) {
    this.section = section;
    this.name = section.getAttribute("data-graph");
    this.url = section.getAttribute("data-url");
    this.plot = section.querySelector("[data-plot]");
    this.toggles = section.querySelector("[data-toggles]");
    this.readout = section.querySelector("[data-readout]");
    this.empty = section.querySelector("[data-empty]");
    this.table = section.querySelector("[data-table]");
    this.updated = section.querySelector("[data-updated]");
    this.hidden = {}; // series keys switched off, kept across updates
    this.chart = null;
    this.keys = "";
    var embedded = section.querySelector('script[type="application/json"]');
    this.data = JSON.parse(embedded.textContent);
    var graph = this;
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        graph.resize();
      }).observe(this.section);
    }
  }

  Graph.prototype.height = function () {
    return window.matchMedia("(max-width: 700px)").matches ? 220 : 300;
  };

  Graph.prototype.resize = function () {
    if (this.chart && !this.plot.hidden) {
      var width = this.plot.clientWidth;
      if (width && (width !== this.chart.width || this.height() !== this.chart.height)) {
        this.chart.setSize({ width: width, height: this.height() });
      }
    }
  };

  Graph.prototype.render = function (data) {
    this.data = data;
    var empty = Boolean(data.empty);
    this.empty.hidden = !empty;
    this.plot.hidden = empty;
    this.toggles.hidden = empty;
    this.readout.textContent = "";
    this.renderUpdated();
    this.renderTable();
    if (empty) {
      return;
    }
    var keys = data.series
      .map(function (s) {
        return s.key;
      })
      .join(",");
    if (keys !== this.keys) {
      this.keys = keys;
      this.renderToggles();
      this.build();
    } else {
      this.chart.setData(this.plotData());
      this.renderToggleLabels();
      this.resize(); // the plot may have been hidden while the window changed
    }
  };

  Graph.prototype.plotData = function () {
    var data = [this.data.dates.map(dayStamp)];
    this.data.series.forEach(function (series) {
      data.push(series.values);
    });
    return data;
  };

  Graph.prototype.build = function () {
    var graph = this;
    if (this.chart) {
      this.chart.destroy();
    }
    var series = [{}];
    this.data.series.forEach(function (s, index) {
      var style = styleOf(graph.name, s.key, index);
      series.push({
        label: s.label,
        show: !graph.hidden[s.key],
        stroke: style.color,
        width: 2,
        dash: style.dash,
        spanGaps: false,
        points: {
          show: true,
          size: 2 * MARKER_RADIUS,
          width: 1.5,
          dash: [],
          stroke: style.color,
          fill: style.hollow ? "#fff" : style.color,
          filter: markerIndexes,
          paths: markerPaths(style.shape),
        },
      });
    });
    var options = {
      width: this.plot.clientWidth || 600,
      height: this.height(),
      series: series,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 8 } },
      tzDate: function (stamp) {
        return uPlot.tzDate(new Date(stamp * 1000), "Etc/UTC");
      },
      scales: {
        x: { time: true },
        y: {
          range: function (u, min, max) {
            return [0, niceCeiling(max == null ? 0 : max)];
          },
        },
      },
      axes: [
        { stroke: "#5f6b7a", grid: { stroke: "#e6e9ee" }, ticks: { stroke: "#d9dee5" } },
        {
          stroke: "#5f6b7a",
          grid: { stroke: "#e6e9ee" },
          ticks: { stroke: "#d9dee5" },
          incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2500, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6],
          values: function (u, splits) {
            return splits.map(function (value) {
              return value.toLocaleString();
            });
          },
        },
      ],
      hooks: {
        setCursor: [
          function (u) {
            graph.showReadout(u.cursor.idx);
          },
        ],
      },
    };
    this.chart = new uPlot(options, this.plotData(), this.plot);
  };

  Graph.prototype.showReadout = function (index) {
    if (index == null) {
      this.readout.textContent = "";
      return;
    }
    var graph = this;
    var parts = [];
    this.data.series.forEach(function (s) {
      if (!graph.hidden[s.key]) {
        var value = s.values[index];
        parts.push(s.label + " " + (value == null ? "–" : value.toLocaleString()));
      }
    });
    this.readout.textContent = this.data.dates[index] + ": " + (parts.join(" · ") || "no series shown");
  };

  Graph.prototype.renderToggles = function () {
    var graph = this;
    var legend = this.toggles.querySelector("legend");
    this.toggles.textContent = "";
    this.toggles.appendChild(legend);
    this.data.series.forEach(function (s, index) {
      var label = document.createElement("label");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.checked = !graph.hidden[s.key];
      box.setAttribute("data-series", s.key);
      box.addEventListener("change", function () {
        graph.hidden[s.key] = !box.checked;
        if (graph.chart) {
          graph.chart.setSeries(index + 1, { show: box.checked });
        }
      });
      var text = document.createElement("span");
      text.setAttribute("data-series-label", s.key);
      label.appendChild(box);
      label.appendChild(swatch(styleOf(graph.name, s.key, index)));
      label.appendChild(text);
      graph.toggles.appendChild(label);
    });
    this.renderToggleLabels();
  };

  Graph.prototype.renderToggleLabels = function () {
    var graph = this;
    this.data.series.forEach(function (s) {
      var text = graph.toggles.querySelector('[data-series-label="' + s.key + '"]');
      if (text) {
        // Token series say how many requests the range holds.
        text.textContent = s.total == null ? s.label : s.label + " (" + s.total.toLocaleString() + ")";
      }
    });
  };

  Graph.prototype.renderUpdated = function () {
    // "2026-03-01T14:05:09.123+01:00" is already in the server's time zone.
    var updated = this.data.updated;
    this.updated.textContent = updated ? "Updated " + updated.slice(0, 10) + " " + updated.slice(11, 16) : "";
  };

  Graph.prototype.renderTable = function () {
    var data = this.data;
    var head = document.createElement("tr");
    var first = document.createElement("th");
    first.scope = "col";
    first.textContent = "Date";
    head.appendChild(first);
    data.series.forEach(function (s) {
      var th = document.createElement("th");
      th.scope = "col";
      th.className = "number";
      th.textContent = s.label;
      head.appendChild(th);
    });
    var body = document.createElement("tbody");
    for (var i = data.dates.length - 1; i >= 0; i--) {
      var row = document.createElement("tr");
      var day = document.createElement("th");
      day.scope = "row";
      day.textContent = data.dates[i];
      row.appendChild(day);
      data.series.forEach(function (s) {
        var cell = document.createElement("td");
        cell.className = "number";
        var value = s.values[i];
        cell.textContent = value == null ? "–" : String(value);
        row.appendChild(cell);
      });
      body.appendChild(row);
    }
    this.table.tHead.textContent = "";
    this.table.tHead.appendChild(head);
    this.table.replaceChild(body, this.table.tBodies[0]);
  };

  // --- The page -------------------------------------------------------------------------

  var graphs = Array.prototype.map.call(dashboard.querySelectorAll("[data-graph]"), function (section) {
    return new Graph(section);
  });
  var form = document.querySelector("[data-range-form]");
  var rangeLinks = document.querySelectorAll("[data-range]");
  var errorBox = document.querySelector("[data-range-error]");
  var summary = document.querySelector("[data-range-summary]");
  var query = window.location.search.replace(/^\?/, "");
  var timer = null;
  var sequence = 0;

  function showError(text) {
    errorBox.textContent = "";
    if (text) {
      var p = document.createElement("p");
      p.textContent = text;
      errorBox.appendChild(p);
    }
    errorBox.hidden = !text;
  }

  function describeErrors(body) {
    return Object.keys(body)
      .map(function (field) {
        return field + ": " + [].concat(body[field]).join(" ");
      })
      .join("; ");
  }

  function showRange(data, params) {
    summary.textContent = data.from + " to " + data.to;
    form.elements.from.value = data.from;
    form.elements.to.value = data.to;
    var current = params.get("from") ? "" : params.get("range") || "1m";
    Array.prototype.forEach.call(rangeLinks, function (link) {
      if (link.getAttribute("data-range") === current) {
        link.setAttribute("aria-current", "true");
      } else {
        link.removeAttribute("aria-current");
      }
    });
  }

  function fetchGraph(graph, search) {
    return fetch(graph.url + (search ? "?" + search : ""), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") !== 0) {
        // The session ended: the portal answered with its login page.
        throw new Error("Your session has ended; reload the page to sign in again.");
      }
      return response.json().then(function (body) {
        if (!response.ok) {
          throw new Error(describeErrors(body));
        }
        return body;
      });
    });
  }

  // Fetch every graph for `search`; only the newest load is drawn.
  function load(search, pushState) {
    var mine = ++sequence;
    clearTimeout(timer);
    return Promise.all(
      graphs.map(function (graph) {
        return fetchGraph(graph, search);
      })
    )
      .then(function (answers) {
        if (mine !== sequence) {
          return;
        }
        var params = new URLSearchParams(search);
        answers.forEach(function (data, index) {
          graphs[index].render(data);
        });
        if (answers.length) {
          showRange(answers[0], params);
        }
        showError("");
        if (pushState && search !== query) {
          window.history.pushState({ dashboard: search }, "", search ? "?" + search : window.location.pathname);
        }
        query = search;
      })
      .catch(function (error) {
        if (mine === sequence) {
          showError(error.message);
        }
      })
      .then(function () {
        if (mine === sequence) {
          schedule();
        }
      });
  }

  function schedule() {
    clearTimeout(timer);
    if (document.visibilityState === "visible") {
      timer = setTimeout(function () {
        load(query, false);
      }, pollSeconds * 1000);
    }
  }

  Array.prototype.forEach.call(rangeLinks, function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      load("range=" + encodeURIComponent(link.getAttribute("data-range")), true);
    });
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var params = new URLSearchParams();
    params.set("from", form.elements.from.value);
    params.set("to", form.elements.to.value);
    load(params.toString(), true);
  });
  window.addEventListener("popstate", function () {
    load(window.location.search.replace(/^\?/, ""), false);
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      load(query, false); // catch up at once, then poll again
    } else {
      clearTimeout(timer);
    }
  });

  graphs.forEach(function (graph) {
    graph.render(graph.data);
  });
  schedule();
})();
