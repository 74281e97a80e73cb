/* CE Credit Studio editor: edits the whole activity (question bank included) and its OLX.
 *
 * The model is `editing.to_model(activity)` from the server. Every control carries the path of
 * its value in the model (data-path="questions.2.choices.1.text"), so the server's problems,
 * which carry the same paths, are shown next to the very field, with a summary that links to
 * them. Save posts {model, settings} (or {olx, settings} from the OLX tab) to `studio_save`.
 */
(function (global) {
    "use strict";

    var gettext = (global.CECredit && global.CECredit.gettext) || function (s) { return s; };
    var ngettext = (global.CECredit && global.CECredit.ngettext) || function (a, b, n) { return n === 1 ? a : b; };
    var fmt = (global.CECredit && global.CECredit.fmt) || function (s) { return s; };

    var uid = 0;
    function nextId(p) { uid += 1; return "cecs-" + p + "-" + uid; }

    function el(spec, attrs, children) {
        var parts = spec.split(".");
        var node = document.createElement(parts[0]);
        if (parts.length > 1) { node.className = parts.slice(1).join(" "); }
        Object.keys(attrs || {}).forEach(function (k) {
            var v = attrs[k];
            if (v === null || v === undefined || v === false) { return; }
            if (k === "text") { node.textContent = v; } else if (k === "on") {
                Object.keys(v).forEach(function (ev) { node.addEventListener(ev, v[ev]); });
            } else { node.setAttribute(k, v === true ? "" : v); }
        });
        (children || []).forEach(function (c) {
            if (c !== null && c !== undefined && c !== false) {
                node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
            }
        });
        return node;
    }

    function getPath(obj, path) {
        return path.reduce(function (o, k) { return o === null || o === undefined ? undefined : o[k]; }, obj);
    }

    function setPath(obj, path, value) {
        var o = obj;
        for (var i = 0; i < path.length - 1; i++) {
            if (o[path[i]] === null || o[path[i]] === undefined) { o[path[i]] = typeof path[i + 1] === "number" ? [] : {}; }
            o = o[path[i]];
        }
        o[path[path.length - 1]] = value;
    }

    function CECreditStudio(runtime, element, init) {
        var node = element && element.jquery ? element[0] : element;
        var root = node.querySelector(".cec-studio-root");
        var model = init.model;
        var settings = {weight: init.settings.weight, grade_policy: init.settings.grade_policy};
        var olxText = init.olx;
        var olxDirty = false;
        var choices = init.choices;
        var problems = [];
        var current = "activity";
        var saving = false;

        var ALL_TABS = [
            ["activity", gettext("Activity")],
            ["people", gettext("Objectives and people")],
            ["credit", gettext("Credit")],
            ["posttest", gettext("Post-test")],
            ["evaluation", gettext("Evaluation")],
            ["grading", gettext("Grading")],
            ["olx", gettext("OLX")]
        ];
        var TABS = ALL_TABS;
        // A stored activity the engine cannot read opens on its OLX alone, with its problems, and
        // saving sends that OLX: the form tabs would show a starter, which must never replace it.
        var broken = !!(init.broken && init.broken.length);
        if (broken) {
            TABS = ALL_TABS.filter(function (t) { return t[0] === "olx"; });
            current = "olx";
            olxDirty = true;
            problems = init.broken.map(function (p) { return {path: p.path || ["olx"], message: p.message, line: p.line}; });
        }
        // Which tab shows a model path, for errors and the summary's links.
        function tabOf(path) {
            var head = path[0];
            if (head === "settings") { return "grading"; }
            if (head === "olx") { return "olx"; }
            if (["objectives", "instructors", "disclosures", "references", "sponsor"].indexOf(head) >= 0) { return "people"; }
            if (head === "accreditations") { return "credit"; }
            if (head === "questions" || head === "policy") { return "posttest"; }
            if (head === "evaluation") { return "evaluation"; }
            return "activity";
        }

        // ---- controls ----

        function problemsAt(path) {
            var key = path.join(".");
            return problems.filter(function (p) { return p.path.join(".") === key; });
        }

        function errorNodes(path, control) {
            var list = problemsAt(path);
            if (!list.length) { return null; }
            var id = nextId("err");
            if (control) {
                control.setAttribute("aria-invalid", "true");
                var prev = control.getAttribute("aria-describedby");
                control.setAttribute("aria-describedby", (prev ? prev + " " : "") + id);
            }
            return el("div.cecs-error", {id: id}, list.map(function (p) { return el("p", {text: p.message}); }));
        }

        /* One labelled control bound to the model at `path`. kind: text, number, textarea, select, checkbox, date. */
        function field(label, path, kind, opts) {
            opts = opts || {};
            var id = nextId("f");
            var value = getPath(model, path);
            var control;
            if (kind === "textarea") {
                control = el("textarea.cecs-input", {id: id, rows: opts.rows || 3});
                control.value = value === null || value === undefined ? "" : value;
            } else if (kind === "select") {
                control = el("select.cecs-input", {id: id});
                (opts.options || []).forEach(function (o) {
                    var opt = el("option", {value: o, text: opts.labels ? (opts.labels[o] || o) : o});
                    if (String(value) === String(o)) { opt.selected = true; }
                    control.appendChild(opt);
                });
            } else if (kind === "checkbox") {
                control = el("input", {id: id, type: "checkbox"});
                control.checked = !!value;
            } else {
                control = el("input.cecs-input", {id: id, type: kind === "number" ? "text" : (kind || "text"),
                    inputmode: kind === "number" ? "decimal" : null});
                control.value = value === null || value === undefined ? "" : value;
            }
            control.setAttribute("data-path", path.join("."));
            var hint = opts.hint ? el("p.cecs-hint", {id: nextId("h"), text: opts.hint}) : null;
            if (hint) { control.setAttribute("aria-describedby", hint.id); }
            control.addEventListener(kind === "checkbox" || kind === "select" ? "change" : "input", function () {
                var v;
                if (kind === "checkbox") { v = control.checked; }
                else if (kind === "number") { v = control.value.trim() === "" ? (opts.blank === undefined ? "" : opts.blank) : control.value.trim(); }
                else { v = control.value; }
                setPath(model, path, v);
            });
            var err = errorNodes(path, control);
            if (kind === "checkbox") {
                return el("div.cecs-field.cecs-check", null, [control, el("label", {"for": id, text: label}), hint, err]);
            }
            return el("div.cecs-field", null, [el("label.cecs-label", {"for": id, text: label}), hint, err, control]);
        }

        function group(title, path, children) {
            var fs = el("fieldset.cecs-group", {"data-path": path ? path.join(".") : null});
            fs.appendChild(el("legend", {text: title}));
            var err = path ? errorNodes(path, null) : null;
            if (err) { fs.appendChild(err); fs.classList.add("cecs-invalid"); }
            children.forEach(function (c) { if (c) { fs.appendChild(c); } });
            return fs;
        }

        function button(text, onClick, cls) {
            return el("button.cecs-button" + (cls ? "." + cls : ""), {type: "button", on: {click: onClick}}, [text]);
        }

        /* A list in the model with add, remove and move buttons; `item(i)` renders entry i. */
        function list(path, itemTitle, item, blank) {
            var items = getPath(model, path) || [];
            var wrap = el("div.cecs-list", {"data-path": path.join(".")});
            var err = errorNodes(path, null);
            if (err) { wrap.appendChild(err); }
            items.forEach(function (_, i) {
                var title = itemTitle(i);
                var controls = el("div.cecs-item-actions", null, [
                    i > 0 ? button(gettext("Move up"), function () { move(path, i, -1); }) : null,
                    i < items.length - 1 ? button(gettext("Move down"), function () { move(path, i, 1); }) : null,
                    button(fmt(gettext("Remove %(item)s"), {item: title}), function () {
                        items.splice(i, 1); render(); }, "cecs-danger")
                ]);
                wrap.appendChild(group(title, path.concat([i]), item(i).concat([controls])));
            });
            wrap.appendChild(button(fmt(gettext("Add %(item)s"), {item: itemTitle(items.length).replace(/ \d+$/, "")}), function () {
                items.push(blank());
                setPath(model, path, items);
                render(path.concat([items.length - 1]));
            }));
            return wrap;
        }

        function move(path, i, by) {
            var items = getPath(model, path);
            var x = items[i];
            items.splice(i, 1);
            items.splice(i + by, 0, x);
            render();
        }

        function objectiveIds() { return [""].concat((model.objectives || []).map(function (o) { return o.id; })); }

        // ---- tabs ----

        var PANELS = {
            activity: function () {
                return [
                    field(gettext("Title (display name, printed on the certificate)"), ["title"], "text"),
                    field(gettext("Activity id"), ["id"], "text", {hint: gettext("Letters, digits, '-', '_' or '.'. It identifies the activity across versions.")}),
                    field(gettext("Version"), ["version"], "text", {hint: gettext("Printed on the certificate. Raise it when the content changes.")}),
                    field(gettext("Format"), ["format"], "select", {options: choices.format}),
                    field(gettext("Level"), ["level"], "select", {options: choices.level}),
                    field(gettext("Instructional time (minutes)"), ["duration_minutes"], "number"),
                    field(gettext("Minimum time from start to certificate (minutes)"), ["min_minutes"], "number"),
                    field(gettext("Audience"), ["audience"], "text"),
                    field(gettext("Description (HTML allowed: p, em, strong, ul, ol, li, a)"), ["description"], "textarea", {rows: 6}),
                    field(gettext("Attestation the learner confirms (empty: none)"), ["attestation"], "textarea")
                ];
            },
            people: function () {
                return [
                    el("h3", {text: gettext("Learning objectives")}),
                    list(["objectives"], function (i) { return fmt(gettext("Objective %(n)s"), {n: i + 1}); }, function (i) {
                        return [field(gettext("Id"), ["objectives", i, "id"], "text"),
                            field(gettext("Objective"), ["objectives", i, "text"], "textarea", {rows: 2})];
                    }, function () { return {id: "lo" + ((model.objectives || []).length + 1), text: ""}; }),
                    el("h3", {text: gettext("Instructors")}),
                    list(["instructors"], function (i) { return fmt(gettext("Instructor %(n)s"), {n: i + 1}); }, function (i) {
                        return [field(gettext("Name"), ["instructors", i, "name"], "text"),
                            field(gettext("Credentials"), ["instructors", i, "credentials"], "text"),
                            field(gettext("Biography (HTML allowed)"), ["instructors", i, "bio"], "textarea")];
                    }, function () { return {name: "", credentials: "", bio: ""}; }),
                    group(gettext("Disclosures (HTML allowed)"), ["disclosures"], [
                        field(gettext("Commercial support"), ["disclosures", "commercial_support"], "textarea", {rows: 2}),
                        field(gettext("Conflicts of interest"), ["disclosures", "conflicts_of_interest"], "textarea", {rows: 2}),
                        field(gettext("Accommodations contact"), ["disclosures", "accommodations_contact"], "textarea", {rows: 2}),
                        field(gettext("Refund policy"), ["disclosures", "refund_policy"], "textarea", {rows: 2})
                    ]),
                    el("h3", {text: gettext("References")}),
                    list(["references"], function (i) { return fmt(gettext("Reference %(n)s"), {n: i + 1}); }, function (i) {
                        return [field(gettext("Reference (HTML allowed)"), ["references", i], "textarea", {rows: 2})];
                    }, function () { return ""; }),
                    group(gettext("Sponsor (the CE provider on the certificate)"), ["sponsor"], [
                        field(gettext("Name"), ["sponsor", "name"], "text"),
                        field(gettext("Signatory name"), ["sponsor", "signatory_name"], "text"),
                        field(gettext("Signatory title"), ["sponsor", "signatory_title"], "text"),
                        field(gettext("Contact"), ["sponsor", "contact"], "text")
                    ])
                ];
            },
            credit: function () {
                return [list(["accreditations"], function (i) { return fmt(gettext("Accreditation %(n)s"), {n: i + 1}); }, function (i) {
                    var p = ["accreditations", i];
                    var details = el("fieldset.cecs-group", {"data-path": p.concat(["required_details"]).join(".")},
                        [el("legend", {text: gettext("Learner details this body needs")})]);
                    var derr = errorNodes(p.concat(["required_details"]), null);
                    if (derr) { details.appendChild(derr); }
                    choices.required_details.forEach(function (d) {
                        var id = nextId("d");
                        var box = el("input", {type: "checkbox", id: id, value: d});
                        var current = getPath(model, p.concat(["required_details"])) || [];
                        box.checked = current.indexOf(d) >= 0;
                        box.addEventListener("change", function () {
                            var now = (getPath(model, p.concat(["required_details"])) || []).filter(function (x) { return x !== d; });
                            if (box.checked) { now.push(d); }
                            setPath(model, p.concat(["required_details"]), choices.required_details.filter(function (x) { return now.indexOf(x) >= 0; }));
                        });
                        details.appendChild(el("div.cecs-check", null, [box, el("label", {"for": id, text: d})]));
                    });
                    return [
                        field(gettext("Accreditor"), p.concat(["body"]), "select", {options: choices.body}),
                        field(gettext("Provider or approval number"), p.concat(["provider_number"]), "text"),
                        field(gettext("Credits"), p.concat(["credits"]), "number", {hint: gettext("For example 1.5. Rounded down by the body's rules.")}),
                        field(gettext("Credit type"), p.concat(["credit_type"]), "select", {options: choices.credit_type}),
                        field(gettext("Credit unit (empty: the body's standard unit)"), p.concat(["credit_unit"]), "text"),
                        field(gettext("Approval starts"), p.concat(["approval_start"]), "date"),
                        field(gettext("Approval ends"), p.concat(["approval_end"]), "date"),
                        field(gettext("Body name (state boards and custom bodies)"), p.concat(["body_name"]), "text"),
                        field(gettext("State or province code (state boards)"), p.concat(["state"]), "text"),
                        field(gettext("Approval statement (empty: the body's standard statement)"), p.concat(["statement"]), "textarea"),
                        details
                    ];
                }, function () {
                    return {body: "apa", provider_number: "", credits: "1", credit_type: "general", credit_unit: "",
                        approval_start: null, approval_end: null, body_name: "", state: "", statement: "", required_details: ["legal-name"]};
                })];
            },
            posttest: function () {
                var pol = ["policy"];
                return [
                    group(gettext("Policy"), pol, [
                        field(gettext("Questions per attempt (empty: the whole bank)"), pol.concat(["form_size"]), "number", {blank: null}),
                        field(gettext("Pass mark (percent)"), pol.concat(["pass_mark"]), "number"),
                        field(gettext("Attempts allowed (empty: unlimited)"), pol.concat(["max_attempts"]), "number", {blank: null}),
                        field(gettext("Wait after a failed attempt (minutes)"), pol.concat(["wait_minutes"]), "number"),
                        field(gettext("Time limit per attempt (minutes; empty: untimed)"), pol.concat(["time_limit_minutes"]), "number",
                            {blank: null, hint: gettext("1 to 600. A learner's extra minutes (an accommodation) are added to it.")}),
                        field(gettext("Review after submitting"), pol.concat(["review"]), "select", {options: choices.review}),
                        field(gettext("Shuffle questions"), pol.concat(["shuffle_questions"]), "checkbox"),
                        field(gettext("Shuffle choices"), pol.concat(["shuffle_choices"]), "checkbox"),
                        field(gettext("Prefer unseen questions on a retake"), pol.concat(["alternate_forms"]), "checkbox"),
                        field(gettext("Partial credit on multiple-answer questions"), pol.concat(["partial_credit"]), "checkbox")
                    ]),
                    el("h3", {text: fmt(gettext("Question bank (%(n)s questions)"), {n: (model.questions || []).length})}),
                    list(["questions"], function (i) {
                        var q = (model.questions || [])[i];
                        return fmt(gettext("Question %(n)s"), {n: i + 1}) + (q && q.id ? " (" + q.id + ")" : "");
                    }, function (i) {
                        var p = ["questions", i];
                        return [
                            field(gettext("Id"), p.concat(["id"]), "text"),
                            field(gettext("Type"), p.concat(["type"]), "select", {options: choices.question_type}),
                            field(gettext("Learning objective assessed"), p.concat(["objective"]), "select", {options: objectiveIds()}),
                            field(gettext("Prompt (HTML allowed)"), p.concat(["prompt"]), "textarea"),
                            list(p.concat(["choices"]), function (j) { return fmt(gettext("Choice %(n)s"), {n: j + 1}); }, function (j) {
                                var c = p.concat(["choices", j]);
                                return [
                                    field(gettext("Id"), c.concat(["id"]), "text"),
                                    field(gettext("Text (HTML allowed)"), c.concat(["text"]), "textarea", {rows: 2}),
                                    field(gettext("This choice is correct"), c.concat(["correct"]), "checkbox"),
                                    field(gettext("Feedback shown in the review (optional)"), c.concat(["feedback"]), "textarea", {rows: 2})
                                ];
                            }, function () {
                                var n = (getPath(model, p.concat(["choices"])) || []).length;
                                return {id: String.fromCharCode(97 + n), text: "", correct: false, feedback: ""};
                            }),
                            field(gettext("Explanation shown in the review (optional)"), p.concat(["explanation"]), "textarea", {rows: 2})
                        ];
                    }, function () {
                        return {id: "q" + ((model.questions || []).length + 1), prompt: "", type: "single", objective: "", explanation: "",
                            choices: [{id: "a", text: "", correct: true, feedback: ""}, {id: "b", text: "", correct: false, feedback: ""}]};
                    })
                ];
            },
            evaluation: function () {
                var ev = ["evaluation"];
                return [
                    field(gettext("The evaluation is required before the certificate"), ev.concat(["required"]), "checkbox"),
                    field(gettext("Ask one rating per learning objective"), ev.concat(["objective_items"]), "checkbox"),
                    list(ev.concat(["items"]), function (i) { return fmt(gettext("Evaluation item %(n)s"), {n: i + 1}); }, function (i) {
                        var p = ev.concat(["items", i]);
                        return [
                            field(gettext("Id"), p.concat(["id"]), "text"),
                            field(gettext("Type"), p.concat(["type"]), "select", {options: choices.evaluation_type}),
                            field(gettext("Statement or question"), p.concat(["prompt"]), "textarea", {rows: 2}),
                            field(gettext("Learning objective (optional)"), p.concat(["objective"]), "select", {options: objectiveIds()}),
                            field(gettext("Required"), p.concat(["required"]), "checkbox")
                        ];
                    }, function () { return {id: "item" + ((getPath(model, ev.concat(["items"])) || []).length + 1), prompt: "", type: "likert", objective: "", required: true}; })
                ];
            },
            grading: function () {
                var id1 = nextId("w"), id2 = nextId("g");
                var weight = el("input.cecs-input", {id: id1, type: "text", inputmode: "decimal", "data-path": "settings.weight"});
                weight.value = settings.weight;
                weight.addEventListener("input", function () { settings.weight = weight.value; });
                var werr = errorNodes(["settings", "weight"], weight);
                var policy = el("select.cecs-input", {id: id2, "data-path": "settings.grade_policy"});
                [["best", gettext("Best attempt")], ["last", gettext("Last attempt (the grade may go down)")]].forEach(function (o) {
                    var opt = el("option", {value: o[0], text: o[1]});
                    if (settings.grade_policy === o[0]) { opt.selected = true; }
                    policy.appendChild(opt);
                });
                policy.addEventListener("change", function () { settings.grade_policy = policy.value; });
                var perr = errorNodes(["settings", "grade_policy"], policy);
                return [
                    el("div.cecs-field", null, [el("label.cecs-label", {"for": id1, text: gettext("Weight (points in the course grade)")}), werr, weight]),
                    el("div.cecs-field", null, [el("label.cecs-label", {"for": id2, text: gettext("Grade policy")}), perr, policy])
                ];
            },
            olx: function () {
                var id = nextId("olx");
                var area = el("textarea.cecs-input.cecs-olx", {id: id, rows: 24, spellcheck: "false", "data-path": "olx"});
                area.value = olxText;
                area.addEventListener("input", function () { olxText = area.value; olxDirty = true; });
                var err = errorNodes(["olx"], area);
                return [
                    el("p", {text: gettext("The whole activity as <ce_credit> OLX. Paste an activity here and save to replace it, or copy it to use elsewhere.")}),
                    el("label.cecs-label", {"for": id, text: gettext("OLX")}), err, area
                ];
            }
        };

        // ---- rendering ----

        function render(focusPath) {
            root.innerHTML = "";
            var summary = null;
            if (problems.length) {
                summary = el("div.cecs-summary", {tabindex: "-1", role: "group", "aria-labelledby": "cecs-summary-title"}, [
                    el("h2", {id: "cecs-summary-title", text: fmt(ngettext("%(n)s problem to fix before saving", "%(n)s problems to fix before saving", problems.length), {n: problems.length})})
                ]);
                var ul = el("ul");
                problems.forEach(function (p) {
                    var tabLabel = TABS.filter(function (t) { return t[0] === tabOf(p.path); })[0][1];
                    var tail = p.path.filter(function (k) { return k !== "settings" && k !== "olx"; }).map(function (k) {
                        return typeof k === "number" ? String(k + 1) : String(k).replace(/_/g, " ");
                    }).join(" \u203a ");
                    var where = p.line ? fmt(gettext("OLX line %(n)s"), {n: p.line}) : tabLabel + (tail ? " \u203a " + tail : "");
                    ul.appendChild(el("li", null, [button(where, function () { goTo(p.path); }, "cecs-link"), " ", p.message]));
                });
                summary.appendChild(ul);
                root.appendChild(summary);
            }
            var tablist = el("div.cecs-tabs", {role: "tablist", "aria-label": gettext("Parts of the activity")});
            TABS.forEach(function (t) {
                var count = problems.filter(function (p) { return tabOf(p.path) === t[0]; }).length;
                var b = el("button.cecs-tab", {type: "button", role: "tab", id: "cecs-tab-" + t[0],
                    "aria-selected": t[0] === current ? "true" : "false", "aria-controls": "cecs-panel",
                    tabindex: t[0] === current ? "0" : "-1"}, [t[1], count ? " " + fmt(gettext("(%(n)s to fix)"), {n: count}) : ""]);
                b.addEventListener("click", function () { current = t[0]; render(); document.getElementById("cecs-tab-" + t[0]).focus(); });
                b.addEventListener("keydown", function (e) {
                    var i = TABS.map(function (x) { return x[0]; }).indexOf(t[0]);
                    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
                        e.preventDefault();
                        current = TABS[(i + (e.key === "ArrowRight" ? 1 : TABS.length - 1)) % TABS.length][0];
                        render();
                        document.getElementById("cecs-tab-" + current).focus();
                    }
                });
                tablist.appendChild(b);
            });
            root.appendChild(tablist);
            var panel = el("div.cecs-panel", {id: "cecs-panel", role: "tabpanel", "aria-labelledby": "cecs-tab-" + current});
            PANELS[current]().forEach(function (c) { if (c) { panel.appendChild(c); } });
            root.appendChild(panel);
            if (focusPath) {
                var target = root.querySelector("[data-path='" + focusPath.join(".") + "'] input, [data-path='" + focusPath.join(".") + "'] textarea")
                    || root.querySelector("[data-path='" + focusPath.join(".") + "']");
                if (target) { target.focus(); }
            }
            return summary;
        }

        function goTo(path) {
            current = tabOf(path);
            render();
            for (var n = path.length; n > 0; n--) {
                var target = root.querySelector("[data-path='" + path.slice(0, n).join(".") + "']");
                if (target) {
                    var control = target.matches("input, select, textarea") ? target : target.querySelector("[aria-invalid='true'], input, select, textarea");
                    (control || target).focus();
                    return;
                }
            }
        }

        function save() {
            if (saving) { return; }
            saving = true;
            var body = {settings: settings};
            if ((current === "olx" || broken) && olxDirty) { body.olx = olxText; } else { body.model = model; }
            if (runtime.notify) { runtime.notify("save", {state: "start", message: gettext("Saving")}); }
            var headers = {"Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest"};
            var m = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
            if (m) { headers["X-CSRFToken"] = decodeURIComponent(m[1]); }
            global.fetch(runtime.handlerUrl(node, "studio_save"), {method: "POST", credentials: "same-origin", headers: headers, body: JSON.stringify(body)})
                .then(function (r) { return r.json().catch(function () { return {}; }).then(function (data) { return {ok: r.ok, data: data}; }); })
                .then(function (res) {
                    saving = false;
                    if (res.ok) {
                        problems = [];
                        model = res.data.model;
                        olxText = res.data.olx;
                        olxDirty = false;
                        if (broken) { broken = false; TABS = ALL_TABS; }
                        render();
                        if (runtime.notify) { runtime.notify("save", {state: "end"}); }
                        return;
                    }
                    problems = (res.data.problems || [{path: [], message: res.data.message || gettext("The activity could not be saved.")}])
                        .map(function (p) { return {path: p.path || [], message: p.message, line: p.line}; });
                    if (runtime.notify) { runtime.notify("error", {title: gettext("Not saved"), message: res.data.message || ""}); }
                    var summary = render();
                    if (summary) { summary.focus(); }
                }, function () {
                    saving = false;
                    problems = [{path: [], message: gettext("The connection failed. Your changes are not saved; try again.")}];
                    var summary = render();
                    if (summary) { summary.focus(); }
                });
        }

        node.querySelector(".cec-studio-save").addEventListener("click", save);
        node.querySelector(".cec-studio-cancel").addEventListener("click", function () {
            if (runtime.notify) { runtime.notify("cancel", {}); }
        });
        render();
        return {save: save, get model() { return model; }};
    }

    global.CECreditStudio = CECreditStudio;
}(window));
