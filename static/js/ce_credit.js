/* CE Credit learner front end: renders every step of the learner flow from the view dict.
 *
 * One file, no build step, shared by both homes. `CECredit.mount(root, adapter)` renders into
 * `root`; `adapter.call(action, payload)` returns a Promise of the next view (or rejects with
 * `{message, field, error}`), and `adapter.initialView` is the first view, if the page has it.
 * `CECreditXBlock(runtime, element, init)` is the Open edX entry point; the LTI tool has its own
 * adapter. The view dict is documented in docs/xblock.md.
 */
(function (global) {
    "use strict";

    // ---- i18n: the block's own catalogue (CECreditI18N), then the platform's, then English ----
    var gettext, ngettext;
    if ("CECreditI18N" in global) {
        gettext = function (s) {
            var t = global.CECreditI18N.gettext(s);
            // An untranslated string may still be overridden by the platform's catalogue (themes).
            if (t === s && typeof global.gettext === "function") {
                t = global.gettext(s);
            }
            return t;
        };
        ngettext = function (a, b, n) {
            return global.CECreditI18N.ngettext(a, b, n);
        };
    } else if (typeof global.gettext === "function") {
        gettext = global.gettext;
        ngettext = global.ngettext || function (a, b, n) { return n === 1 ? a : b; };
    } else {
        gettext = function (s) { return s; };
        ngettext = function (a, b, n) { return n === 1 ? a : b; };
    }

    /* "%(name)s" placeholders, as Django's interpolate(fmt, obj, true) fills them. */
    function fmt(template, values) {
        return template.replace(/%\(([a-z_]+)\)s/g, function (m, key) {
            return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : m;
        });
    }

    // Labels for the codes the view carries. Listed here so that extraction finds them.
    var LABELS = {
        step: {
            info: gettext("Information"),
            posttest: gettext("Post-test"),
            result: gettext("Result"),
            evaluation: gettext("Evaluation"),
            attestation: gettext("Attestation"),
            details: gettext("Your details"),
            certificate: gettext("Certificate")
        },
        format: {
            "home-study": gettext("Home study"),
            "self-paced-online": gettext("Self-paced online"),
            "live-webinar": gettext("Live webinar")
        },
        level: {
            introductory: gettext("Introductory"),
            intermediate: gettext("Intermediate"),
            advanced: gettext("Advanced")
        },
        // State boards and custom bodies are named by the author; only their kind is ours to translate.
        bodyKind: {
            "state-board": gettext("state board"),
            custom: gettext("custom body")
        },
        creditType: {
            general: gettext("General"),
            ethics: gettext("Ethics"),
            clinical: gettext("Clinical"),
            "cultural-diversity": gettext("Cultural diversity"),
            supervision: gettext("Supervision"),
            "suicide-prevention": gettext("Suicide prevention"),
            "pain-management": gettext("Pain management"),
            "laws-and-rules": gettext("Laws and rules")
        },
        disclosure: {
            commercial_support: gettext("Commercial support"),
            conflicts_of_interest: gettext("Conflicts of interest"),
            accommodations_contact: gettext("Accommodations"),
            refund_policy: gettext("Refund policy")
        },
        detail: {
            legal_name: gettext("Legal name (as it appears on your licence)"),
            license_number: gettext("Licence number"),
            license_state: gettext("Licence state or province (two letters, e.g. TX)"),
            profession: gettext("Profession (e.g. Psychologist, LCSW, LPC)")
        },
        likert: {
            1: gettext("Strongly disagree"),
            2: gettext("Disagree"),
            3: gettext("Neutral"),
            4: gettext("Agree"),
            5: gettext("Strongly agree")
        }
    };

    function unitLabel(unit, n) {
        if (unit === "ceu") { return ngettext("CEU", "CEUs", n); }
        if (unit === "cpe-hour") { return ngettext("CPE hour", "CPE hours", n); }
        return ngettext("hour", "hours", n);
    }

    // The accrediting body as credit.body_label names it ("Texas BHEC (state board, TX)"), in the
    // learner's language: APA, NBCC... are names; a state board's kind is a word to translate.
    function bodyLabel(c) {
        var kind = LABELS.bodyKind[c.body];
        if (!kind) { return c.body_label; }
        var name = (c.body_name || "").trim() || gettext("unnamed body");
        var where = (c.state || "").trim();
        return where ? fmt(gettext("%(name)s (%(kind)s, %(state)s)"), {name: name, kind: kind, state: where})
            : fmt(gettext("%(name)s (%(kind)s)"), {name: name, kind: kind});
    }

    // ---- DOM helpers --------------------------------------------------------------------------

    var uid = 0;
    function nextId(prefix) {
        uid += 1;
        return "cec-" + prefix + "-" + uid;
    }

    /* el("p.cls", {attr: v}, [children]) -- children are nodes or text; never HTML. */
    function el(spec, attrs, children) {
        var parts = spec.split(".");
        var node = document.createElement(parts[0]);
        if (parts.length > 1) { node.className = parts.slice(1).join(" "); }
        if (attrs) {
            Object.keys(attrs).forEach(function (k) {
                var v = attrs[k];
                if (v === null || v === undefined || v === false) { return; }
                if (k === "on") {
                    Object.keys(v).forEach(function (ev) { node.addEventListener(ev, v[ev]); });
                } else if (k === "text") {
                    node.textContent = v;
                } else if (k in node && k !== "list" && k !== "form" && typeof v !== "string") {
                    node[k] = v;
                } else {
                    node.setAttribute(k, v === true ? "" : v);
                }
            });
        }
        (children || []).forEach(function (c) {
            if (c === null || c === undefined || c === false) { return; }
            node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
        });
        return node;
    }

    /* Author rich text, already sanitised by the engine (nh3) on read and again in the view.
     * dir="auto": an English prompt in an Arabic page keeps its own direction (and its punctuation). */
    function rich(spec, html, attrs) {
        var node = el(spec, attrs);
        node.setAttribute("dir", "auto");
        node.innerHTML = html || "";
        return node;
    }

    function button(text, onClick, cls, attrs) {
        var a = attrs || {};
        a.type = "button";
        a.on = {click: onClick};
        return el("button.cec-button" + (cls ? "." + cls : ""), a, [text]);
    }

    function numberFmt(locale, value, digits) {
        try {
            return new Intl.NumberFormat(locale, {maximumFractionDigits: digits === undefined ? 2 : digits})
                .format(Number(value));
        } catch (e) {
            return String(value);
        }
    }

    function dateFmt(locale, iso, withTime) {
        if (!iso) { return ""; }
        var d = new Date(iso);
        try {
            var opts = {year: "numeric", month: "long", day: "numeric"};
            if (withTime) { opts.hour = "numeric"; opts.minute = "2-digit"; }
            return new Intl.DateTimeFormat(locale, opts).format(d);
        } catch (e) {
            return d.toISOString();
        }
    }

    function duration(seconds) {
        var s = Math.max(0, Math.round(seconds));
        var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
        var pad = function (x) { return (x < 10 ? "0" : "") + x; };
        return (h ? h + ":" + pad(m) : m) + ":" + pad(r);
    }

    function spokenDuration(seconds) {
        var minutes = Math.ceil(Math.max(0, seconds) / 60);
        return fmt(ngettext("%(n)s minute", "%(n)s minutes", minutes), {n: minutes});
    }

    // ---- the learner UI -----------------------------------------------------------------------

    function mount(root, adapter) {
        var state = {view: null, busy: false, timers: [], infoOpen: null, errors: {}, draft: {}};
        root.classList.add("cec");
        root.innerHTML = "";
        var live = el("div.cec-live.cec-sr", {role: "status", "aria-live": "polite", "aria-atomic": "true"});
        var body = el("div.cec-body");
        root.appendChild(live);
        root.appendChild(body);

        function announce(text) {
            // Clear then set, so the same message twice is still read.
            live.textContent = "";
            global.setTimeout(function () { live.textContent = text; }, 50);
        }

        function clearTimers() {
            state.timers.forEach(function (t) { global.clearInterval(t); });
            state.timers = [];
        }

        function call(action, payload, opts) {
            if (state.busy) { return Promise.resolve(state.view); }
            state.busy = true;
            root.setAttribute("aria-busy", "true");
            var buttons = root.querySelectorAll("button");
            Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
            return adapter.call(action, payload || {}).then(function (view) {
                state.busy = false;
                root.removeAttribute("aria-busy");
                state.errors = {};
                render(view, {moved: true, announce: (opts && opts.announce) || null});
                return view;
            }, function (err) {
                state.busy = false;
                root.removeAttribute("aria-busy");
                err = err || {};
                var message = err.message || gettext("Something went wrong. Please try again.");
                if ((err.error || err.code) === "time-up" && action === "submit" && payload && payload.attempt) {
                    return showTimedOut(payload.attempt, message);
                }
                var field = err.field || "_form";
                state.errors = {};
                state.errors[field] = message;
                render(state.view, {moved: false, errorFocus: true});
                return null;
            });
        }

        /* The server refused answers that came after the time limit: it closes that attempt as not
         * passed. "start" for the same attempt number changes nothing else and answers with the
         * current view (the result), which is shown with the server's explanation. */
        function showTimedOut(attempt, message) {
            state.busy = true;
            root.setAttribute("aria-busy", "true");
            return adapter.call("start", {attempt: attempt}).then(function (view) {
                state.busy = false;
                root.removeAttribute("aria-busy");
                state.errors = {_form: message};
                render(view, {moved: true, errorFocus: true});
                return null;
            }, function () {
                state.busy = false;
                root.removeAttribute("aria-busy");
                state.errors = {_form: message};
                render(state.view, {moved: false, errorFocus: true});
                return null;
            });
        }

        function render(view, opts) {
            opts = opts || {};
            clearTimers();
            var previousStep = state.view && state.view.step;
            state.view = view;
            if (previousStep && previousStep !== view.step) { state.draft = {}; }
            body.innerHTML = "";
            if (view.locale) { root.setAttribute("lang", view.locale); }
            body.appendChild(header(view));
            if (view.step !== "info") { body.appendChild(infoPanel(view, true)); }
            var section = el("section.cec-step.cec-step-" + view.step, {"aria-labelledby": "cec-step-heading-" + rootId});
            STEP_RENDERERS[view.step](view, section);
            body.appendChild(section);
            var errorTarget = opts.errorFocus && focusFirstError();
            if (!errorTarget && opts.moved) {
                var h = section.querySelector(".cec-step-heading");
                if (h) { h.focus(); }
            }
            if (opts.announce) { announce(opts.announce); }
        }

        var rootId = nextId("root");

        function focusFirstError() {
            var bad = body.querySelector("[aria-invalid='true']") || body.querySelector(".cec-error-summary");
            if (bad) { bad.focus(); return bad; }
            return null;
        }

        function stepHeading(text) {
            return el("h3.cec-step-heading", {id: "cec-step-heading-" + rootId, tabindex: "-1", text: text});
        }

        /* The error for one field, tied to it with aria-describedby; or the form-level error. */
        function fieldError(field, describedNode) {
            var message = state.errors[field];
            if (!message) { return null; }
            var id = nextId("err");
            var node = el("p.cec-error", {id: id}, [el("span.cec-error-icon", {"aria-hidden": "true", text: "!"}), " ", message]);
            if (describedNode) {
                var prev = describedNode.getAttribute("aria-describedby");
                describedNode.setAttribute("aria-describedby", (prev ? prev + " " : "") + id);
            }
            return node;
        }

        function formError() {
            var message = state.errors._form;
            if (!message) { return null; }
            return el("p.cec-error.cec-error-summary", {tabindex: "-1"}, [
                el("span.cec-error-icon", {"aria-hidden": "true", text: "!"}), " ", message
            ]);
        }

        function header(view) {
            var steps = el("ol.cec-progress", {"aria-label": gettext("Steps")});
            var current = view.step === "posttest" ? "posttest" : view.step;
            var reached = true;
            view.steps.forEach(function (s) {
                var isCurrent = s === current;
                if (isCurrent) { reached = false; }
                var done = reached && !isCurrent;
                var label = LABELS.step[s] || s;
                var li = el("li.cec-progress-step" + (isCurrent ? ".cec-current" : "") + (done ? ".cec-done" : ""),
                    {"aria-current": isCurrent ? "step" : null}, [
                        el("span.cec-progress-mark", {"aria-hidden": "true", text: done ? "\u2713" : (isCurrent ? "\u25CF" : "\u25CB")}),
                        " ", label,
                        done ? el("span.cec-sr", {text: " " + gettext("(done)")}) : null
                    ]);
                steps.appendChild(li);
            });
            return el("header.cec-header", null, [el("h2.cec-title", {text: view.info.title, dir: "auto"}), steps, accommodationNote(view)]);
        }

        /* "Accommodation: +1 attempt, +30 minutes": text, so it reads the same to everyone. */
        function accommodationNote(view) {
            var acc = view.accommodation || {};
            var parts = [];
            if (acc.extra_attempts > 0) {
                parts.push(fmt(ngettext("+%(n)s attempt", "+%(n)s attempts", acc.extra_attempts), {n: numberFmt(view.locale, acc.extra_attempts, 0)}));
            }
            if (acc.extra_minutes > 0) {
                parts.push(fmt(ngettext("+%(n)s minute", "+%(n)s minutes", acc.extra_minutes), {n: numberFmt(view.locale, acc.extra_minutes, 0)}));
            }
            if (!parts.length) { return null; }
            return el("p.cec-accommodation", null, [
                el("strong", {text: gettext("Accommodation:")}), " ", parts.join(", ")
            ]);
        }

        function infoPanel(view, collapsible) {
            var info = view.info, locale = view.locale;
            var content = el("div.cec-info-content");
            if (info.description) { content.appendChild(rich("div.cec-description", info.description)); }

            var facts = el("dl.cec-facts");
            function fact(term, value) {
                if (!value && value !== 0) { return; }
                facts.appendChild(el("div.cec-fact", null, [el("dt", {text: term}), el("dd", {text: String(value)})]));
            }
            fact(gettext("Format"), LABELS.format[info.format] || info.format);
            fact(gettext("Level"), LABELS.level[info.level] || info.level);
            fact(gettext("Audience"), info.audience);
            fact(gettext("Instructional time"), fmt(ngettext("%(n)s minute", "%(n)s minutes", info.duration_minutes),
                {n: numberFmt(locale, info.duration_minutes, 0)}));
            fact(gettext("Post-test"), fmt(gettext("%(n)s questions, pass mark %(mark)s%"),
                {n: info.questions, mark: view.pass_mark}));
            fact(gettext("Attempts allowed"), view.attempts.allowed === null ? gettext("Unlimited") : view.attempts.allowed);
            if (view.time_limit) { fact(gettext("Time limit per attempt"), timeLimitText(view, view.time_limit)); }
            content.appendChild(facts);

            if (info.objectives.length) {
                content.appendChild(el("h4", {text: gettext("Learning objectives")}));
                content.appendChild(el("p.cec-lead", {text: gettext("After this activity you will be able to:")}));
                var ol = el("ol.cec-objectives");
                info.objectives.forEach(function (o) { ol.appendChild(el("li", {text: o.text, dir: "auto"})); });
                content.appendChild(ol);
            }
            if (info.credits.length) {
                content.appendChild(el("h4", {text: gettext("Continuing-education credit")}));
                var ul = el("ul.cec-credits");
                info.credits.forEach(function (c) {
                    var n = Number(c.credits);
                    var line = fmt(gettext("%(credits)s %(unit)s of %(type)s credit from %(body)s"), {
                        credits: numberFmt(locale, c.credits),
                        unit: unitLabel(c.unit, n),
                        type: (LABELS.creditType[c.credit_type] || c.credit_type).toLowerCase(),
                        body: bodyLabel(c)
                    });
                    ul.appendChild(el("li", null, [
                        el("strong", {text: line}),
                        c.statement ? el("p.cec-statement", {text: c.statement, dir: "auto"}) : null
                    ]));
                });
                content.appendChild(ul);
            }
            if (info.instructors.length) {
                content.appendChild(el("h4", {text: ngettext("Instructor", "Instructors", info.instructors.length)}));
                info.instructors.forEach(function (i) {
                    content.appendChild(el("div.cec-instructor", null, [
                        el("p.cec-instructor-name", {dir: "auto"}, [el("strong", {text: i.name}), i.credentials ? ", " + i.credentials : ""]),
                        i.bio ? rich("div.cec-bio", i.bio) : null
                    ]));
                });
            }
            var disclosureKeys = Object.keys(info.disclosures || {});
            if (disclosureKeys.length) {
                content.appendChild(el("h4", {text: gettext("Disclosures")}));
                var dl = el("dl.cec-disclosures");
                disclosureKeys.forEach(function (k) {
                    dl.appendChild(el("dt", {text: LABELS.disclosure[k] || k}));
                    dl.appendChild(rich("dd", info.disclosures[k]));
                });
                content.appendChild(dl);
            }
            if (info.references && info.references.length) {
                content.appendChild(el("h4", {text: gettext("References")}));
                var refs = el("ul.cec-references");
                info.references.forEach(function (r) { refs.appendChild(rich("li", r)); });
                content.appendChild(refs);
            }
            if (info.sponsor && info.sponsor.name) {
                content.appendChild(el("p.cec-sponsor", {text: fmt(gettext("Provided by %(sponsor)s."), {sponsor: info.sponsor.name})
                    + (info.sponsor.contact ? " " + fmt(gettext("Contact: %(contact)s"), {contact: info.sponsor.contact}) : "")}));
            }
            if (!collapsible) { return el("div.cec-info", null, [content]); }
            var details = el("details.cec-info", null, [el("summary", {text: gettext("About this activity and its credit")}), content]);
            if (state.infoOpen) { details.open = true; }
            details.addEventListener("toggle", function () { state.infoOpen = details.open; });
            return details;
        }

        /* "Attempt 2 of 3" or "Attempt 2" when unlimited. */
        function attemptLabel(n, allowed) {
            return allowed === null || allowed === undefined
                ? fmt(gettext("Attempt %(n)s"), {n: n})
                : fmt(gettext("Attempt %(n)s of %(m)s"), {n: n, m: allowed});
        }

        /* A visible countdown; the live region speaks only when it starts and when it ends. */
        function countdown(seconds, template, doneText, onDone) {
            var end = Date.now() + seconds * 1000;
            var node = el("p.cec-timer", {"aria-hidden": "true"});
            var spoken = el("p.cec-sr");
            spoken.textContent = fmt(template, {time: spokenDuration(seconds)});
            function tick() {
                var left = (end - Date.now()) / 1000;
                if (left <= 0) {
                    node.textContent = doneText;
                    spoken.textContent = doneText;
                    clearTimers();
                    announce(doneText);
                    if (onDone) { onDone(); }
                    return;
                }
                node.textContent = fmt(template, {time: duration(left)});
            }
            tick();
            state.timers.push(global.setInterval(tick, 1000));
            return el("div.cec-wait", null, [node, spoken]);
        }

        /* "30 minutes" or "40 minutes (30 minutes +10 minutes accommodation)". */
        function timeLimitText(view, limit) {
            var total = fmt(ngettext("%(n)s minute", "%(n)s minutes", limit.total_minutes), {n: numberFmt(view.locale, limit.total_minutes, 0)});
            if (!limit.extra_minutes) { return total; }
            return total + " " + fmt(gettext("(%(limit)s +%(extra)s accommodation)"), {
                limit: fmt(ngettext("%(n)s minute", "%(n)s minutes", limit.minutes), {n: numberFmt(view.locale, limit.minutes, 0)}),
                extra: fmt(ngettext("%(n)s minute", "%(n)s minutes", limit.extra_minutes), {n: numberFmt(view.locale, limit.extra_minutes, 0)})
            });
        }

        /* Told before starting: how long an attempt may take and what happens when time runs out. */
        function timeLimitNote(view) {
            var limit = view.time_limit;
            if (!limit) { return null; }
            var text = fmt(ngettext("You will have %(n)s minute for each attempt, from when you start it.",
                "You will have %(n)s minutes for each attempt, from when you start it.", limit.total_minutes),
                {n: numberFmt(view.locale, limit.total_minutes, 0)});
            if (limit.extra_minutes) {
                text += " " + fmt(ngettext("This includes your accommodation of +%(n)s minute.",
                    "This includes your accommodation of +%(n)s minutes.", limit.extra_minutes),
                    {n: numberFmt(view.locale, limit.extra_minutes, 0)});
            }
            text += " " + gettext("You are told when 5 minutes and 1 minute are left. When the time runs out, the answers you have given are submitted.");
            return el("p.cec-notice.cec-time-note", {id: nextId("time")}, [text]);
        }

        var TIME_WARNINGS = [300, 60];  // seconds left at which the live region speaks once each

        /* The attempt's "Time left" countdown. The visible clock ticks every second but is hidden
         * from screen readers; they read a sentence in whole minutes, changed once a minute, and
         * the live region speaks only at 5 minutes left, 1 minute left and when time is up. */
        function timeLeft(view, onTimeUp) {
            var form = view.form;
            var t = state.attemptTimer;
            if (!t || t.form !== form) {
                // Once per view from the server: re-rendering (a validation error) keeps the clock.
                t = state.attemptTimer = {form: form, end: Date.now() + form.seconds_left * 1000, warned: {}, done: false};
                TIME_WARNINGS.forEach(function (w) { if (form.seconds_left <= w) { t.warned[w] = true; } });
            }
            var nodes = [el("p.cec-timer.cec-time-left", {"aria-hidden": "true"}), el("p.cec-timer.cec-time-left", {"aria-hidden": "true"})];
            var spoken = el("p.cec-sr");
            var spokenMinutes = null;
            function show(text, low) {
                nodes.forEach(function (n) {
                    n.textContent = text;
                    n.classList.toggle("cec-time-low", !!low);
                });
            }
            function tick() {
                var left = (t.end - Date.now()) / 1000;
                if (left <= 0) {
                    show(gettext("Time is up."), true);
                    spoken.textContent = gettext("Time is up.");
                    clearTimers();
                    if (!t.done) {
                        t.done = true;
                        announce(gettext("Time is up. Your answers are being submitted."));
                        global.setTimeout(onTimeUp, 0);
                    }
                    return;
                }
                show(fmt(gettext("Time left: %(time)s"), {time: duration(left)}), left <= TIME_WARNINGS[0]);
                var minutes = Math.ceil(left / 60);
                if (minutes !== spokenMinutes) {
                    spokenMinutes = minutes;
                    spoken.textContent = fmt(gettext("Time left: %(time)s"), {time: spokenDuration(left)});
                }
                var due = TIME_WARNINGS.filter(function (w) { return left <= w && !t.warned[w]; });
                if (due.length) {
                    TIME_WARNINGS.forEach(function (w) { if (left <= w) { t.warned[w] = true; } });
                    var w = due[due.length - 1] / 60;
                    announce(fmt(ngettext("%(n)s minute left. Submit your answers before the time runs out.",
                        "%(n)s minutes left. Submit your answers before the time runs out.", w), {n: w}));
                }
            }
            tick();
            state.timers.push(global.setInterval(tick, 1000));
            return {top: el("div.cec-time-box", null, [nodes[0], spoken]), bottom: nodes[1]};
        }

        function startControls(view, container) {
            var a = view.attempts;
            var next = a.used + 1;
            if (view.anonymous) {
                container.appendChild(el("p.cec-notice", {text: gettext("Sign in to take the post-test and earn a certificate.")}));
                return;
            }
            var note = (a.can_start || (a.code === "wait" && a.wait_seconds > 0)) ? timeLimitNote(view) : null;
            if (note) { container.appendChild(note); }
            var described = note ? {"aria-describedby": note.id} : {};
            if (a.can_start) {
                container.appendChild(button(a.used === 0 ? gettext("Start the post-test") : fmt(gettext("Start attempt %(n)s"), {n: next}),
                    function () { call("start", {attempt: next}); }, "cec-primary", described));
                return;
            }
            if (a.code === "wait" && a.wait_seconds > 0) {
                described.disabled = true;
                var startButton = button(fmt(gettext("Start attempt %(n)s"), {n: next}),
                    function () { call("start", {attempt: next}); }, "cec-primary", described);
                container.appendChild(countdown(a.wait_seconds, gettext("You can start the next attempt in %(time)s."),
                    gettext("You can now start the next attempt."), function () { startButton.disabled = false; }));
                container.appendChild(startButton);
                return;
            }
            if (a.code === "no-attempts-left") {
                container.appendChild(el("p.cec-notice", {text: gettext("You have used all your attempts. If you need an accommodation, such as an extra attempt, contact the provider.")}));
            }
        }

        // ---- steps ----

        function renderInfo(view, section) {
            section.appendChild(stepHeading(gettext("About this activity")));
            section.appendChild(infoPanel(view, false));
            var a = view.attempts;
            if (a.allowed !== null) {
                section.appendChild(el("p", {text: fmt(ngettext("You have %(n)s attempt to pass the post-test.",
                    "You have %(n)s attempts to pass the post-test.", a.allowed), {n: a.allowed})}));
            }
            var actions = el("div.cec-actions");
            var err = formError();
            if (err) { section.appendChild(err); }
            startControls(view, actions);
            section.appendChild(actions);
        }

        function renderPosttest(view, section) {
            var form = view.form;
            section.appendChild(stepHeading(gettext("Post-test") + ": " + attemptLabel(form.attempt, view.attempts.allowed)));
            section.appendChild(el("p", {text: fmt(gettext("Answer every question. You need %(mark)s% to pass."), {mark: view.pass_mark})}));
            var clock = form.time_limit ? timeLeft(view, function () { send(true); }) : null;
            if (clock) { section.appendChild(clock.top); }
            var f = el("form.cec-form", {novalidate: true});
            var err = formError();
            if (err) { f.appendChild(err); }
            var draft = state.draft;
            form.questions.forEach(function (q, qi) {
                var fs = el("fieldset.cec-question", {id: "cec-q-" + rootId + "-" + q.id});
                var legend = el("legend");
                legend.appendChild(el("span.cec-qnum", {text: fmt(gettext("Question %(n)s of %(m)s"), {n: qi + 1, m: form.questions.length})}));
                legend.appendChild(rich("span.cec-prompt", q.prompt));
                fs.appendChild(legend);
                if (q.type === "multiple") {
                    var hintId = nextId("hint");
                    fs.appendChild(el("p.cec-hint", {id: hintId, text: gettext("Select all that apply.")}));
                    fs.setAttribute("aria-describedby", hintId);
                }
                var error = fieldError(q.id, fs);
                if (error) { fs.appendChild(error); }
                var chosen = draft[q.id] || [];
                q.choices.forEach(function (c) {
                    var id = nextId("c");
                    var input = el("input", {
                        type: q.type === "multiple" ? "checkbox" : "radio",
                        name: rootId + "-" + q.id, id: id, value: c.id,
                        "aria-invalid": error ? "true" : null
                    });
                    input.checked = chosen.indexOf(c.id) >= 0;
                    input.addEventListener("change", function () {
                        draft[q.id] = Array.prototype.filter.call(f.querySelectorAll("input[name='" + rootId + "-" + q.id + "']"),
                            function (i) { return i.checked; }).map(function (i) { return i.value; });
                    });
                    var label = el("label", {"for": id});
                    label.appendChild(rich("span", c.text));
                    fs.appendChild(el("div.cec-choice", null, [input, label]));
                });
                f.appendChild(fs);
            });
            var submit = el("button.cec-button.cec-primary", {type: "submit", text: gettext("Submit answers")});
            f.appendChild(el("div.cec-actions", null, [submit, clock ? clock.bottom : null]));
            /* When the time runs out: the answers given so far, blanks allowed (they score 0). */
            function send(timeUp) {
                var responses = {};
                form.questions.forEach(function (q) { responses[q.id] = draft[q.id] || []; });
                var payload = {attempt: form.attempt, responses: responses};
                if (timeUp) {
                    payload.time_up = true;
                    state.busy = false;  // this submit goes even if another request is pending
                }
                return call("submit", payload).then(function (next) {
                    if (next && next.result) { announce(resultSentence(next)); }
                });
            }
            f.addEventListener("submit", function (ev) {
                ev.preventDefault();
                var responses = {}, missing = null;
                form.questions.forEach(function (q) {
                    var picked = draft[q.id] || [];
                    if (!picked.length && !missing) { missing = q.id; }
                    responses[q.id] = picked;
                });
                if (missing) {
                    state.errors = {};
                    form.questions.forEach(function (q) {
                        if (!(draft[q.id] || []).length) { state.errors[q.id] = gettext("Choose an answer to this question."); }
                    });
                    render(view, {errorFocus: true});
                    announce(gettext("Some questions have no answer yet."));
                    return;
                }
                call("submit", {attempt: form.attempt, responses: responses}).then(function (next) {
                    if (next && next.result) { announce(resultSentence(next)); }
                });
            });
            section.appendChild(f);
        }

        function resultSentence(view) {
            var r = view.result;
            return fmt(gettext("You scored %(percent)s% on attempt %(n)s."), {percent: numberFmt(view.locale, r.percent, 1), n: r.attempt})
                + " " + (r.passed ? gettext("You passed.") : fmt(gettext("You did not pass; the pass mark is %(mark)s%."), {mark: r.pass_mark}));
        }

        function renderResult(view, section) {
            var r = view.result;
            section.appendChild(stepHeading(fmt(gettext("Result of attempt %(n)s"), {n: r.attempt})));
            var err = formError();
            if (err) { section.appendChild(err); }
            section.appendChild(el("p.cec-score" + (r.passed ? ".cec-pass" : ".cec-fail"), null, [
                el("span.cec-badge", {text: r.passed ? gettext("Passed") : gettext("Not passed")}), " ",
                fmt(gettext("%(percent)s% (%(points)s of %(max)s points). Pass mark: %(mark)s%."), {
                    percent: numberFmt(view.locale, r.percent, 1), points: numberFmt(view.locale, r.points),
                    max: r.max_points, mark: r.pass_mark
                })
            ]));
            if (r.timed_out) {
                section.appendChild(el("p.cec-notice", {text: gettext("The time for this attempt ran out before it was submitted, so it was closed with no answers and counts as not passed.")}));
            }
            section.appendChild(review(view, r.review));
            if (view.attempts.history.length > 1) { section.appendChild(history(view)); }
            var actions = el("div.cec-actions");
            if (r.passed) {
                actions.appendChild(button(gettext("Continue"), function () { call("continue", {}); }, "cec-primary"));
            } else {
                startControls(view, actions);
            }
            section.appendChild(actions);
        }

        function review(view, rv) {
            var box = el("div.cec-review");
            if (!rv || !rv.items || !rv.items.length) {
                box.appendChild(el("p", {text: gettext("The answers to this post-test are not shown.")}));
                return box;
            }
            box.appendChild(el("h4", {text: gettext("Review your answers")}));
            if (!rv.key_shown) {
                var hint = {
                    "own-answers": gettext("You can review your own answers. This activity does not show the correct answers."),
                    "correct-after-passing": gettext("The correct answers are shown once you pass."),
                    "correct-after-last-attempt": gettext("The correct answers are shown after your last attempt.")
                }[rv.review];
                if (hint) { box.appendChild(el("p.cec-hint", {text: hint})); }
            }
            var ol = el("ol.cec-review-list");
            rv.items.forEach(function (item) {
                var li = el("li.cec-review-item");
                li.appendChild(rich("div.cec-prompt", item.prompt));
                if (rv.key_shown) {
                    li.appendChild(el("p.cec-verdict" + (item.correct ? ".cec-pass" : ".cec-fail"), {
                        text: item.correct ? gettext("Correct") : gettext("Incorrect")
                    }));
                }
                var ul = el("ul.cec-review-choices");
                item.choices.forEach(function (c) {
                    var marks = [];
                    if (c.selected) { marks.push(gettext("Your answer")); }
                    if (rv.key_shown && c.correct) { marks.push(gettext("Correct answer")); }
                    var cl = el("li" + (c.selected ? ".cec-selected" : "") + (rv.key_shown && c.correct ? ".cec-correct" : ""));
                    cl.appendChild(rich("span", c.text));
                    if (marks.length) { cl.appendChild(el("span.cec-mark", {text: " (" + marks.join(", ") + ")"})); }
                    if (rv.key_shown && c.feedback && c.selected) { cl.appendChild(rich("div.cec-feedback", c.feedback)); }
                    ul.appendChild(cl);
                });
                li.appendChild(ul);
                if (rv.key_shown && item.explanation) {
                    li.appendChild(el("div.cec-explanation", null, [el("strong", {text: gettext("Explanation:")}), " ", rich("span", item.explanation)]));
                }
                ol.appendChild(li);
            });
            box.appendChild(ol);
            return box;
        }

        function history(view) {
            var table = el("table.cec-history");
            var captionId = nextId("history");
            table.appendChild(el("caption", {id: captionId, text: gettext("Your attempts")}));
            table.appendChild(el("thead", null, [el("tr", null, [
                el("th", {scope: "col", text: gettext("Attempt")}),
                el("th", {scope: "col", text: gettext("Score")}),
                el("th", {scope: "col", text: gettext("Result")}),
                el("th", {scope: "col", text: gettext("Submitted")})
            ])]));
            var tb = el("tbody");
            view.attempts.history.forEach(function (h) {
                tb.appendChild(el("tr", null, [
                    el("th", {scope: "row", text: String(h.number)}),
                    el("td", {text: numberFmt(view.locale, h.percent, 1) + "%"}),
                    el("td", {text: h.passed ? gettext("Passed") : (h.timed_out ? gettext("Not passed (time ran out)") : gettext("Not passed"))}),
                    el("td", {text: dateFmt(view.locale, h.submitted_at, true)})
                ]));
            });
            table.appendChild(tb);
            // Too wide for a phone, it scrolls in its own region (Tab, then arrows) with whole words.
            return el("div.cec-table-wrap", {role: "region", tabindex: "0", "aria-labelledby": captionId}, [table]);
        }

        function renderEvaluation(view, section) {
            var ev = view.evaluation;
            section.appendChild(stepHeading(gettext("Evaluation")));
            section.appendChild(el("p", {text: ev.required
                ? gettext("Please evaluate this activity. The evaluation is required for your certificate.")
                : gettext("Please evaluate this activity. The evaluation is optional.")}));
            var f = el("form.cec-form", {novalidate: true});
            var err = formError();
            if (err) { f.appendChild(err); }
            var draft = state.draft;
            ev.items.forEach(function (item) {
                var required = item.required && ev.required;
                var fs = el("fieldset.cec-question", {id: "cec-e-" + rootId + "-" + item.id});
                var legendText = item.prompt + (required ? "" : " " + gettext("(optional)"));
                if (item.type === "likert") {
                    fs.appendChild(el("legend", {text: legendText}));
                    var error = fieldError(item.id, fs);
                    if (error) { fs.appendChild(error); }
                    var scale = el("div.cec-likert");
                    ev.scale.forEach(function (s) {
                        var id = nextId("l");
                        var input = el("input", {type: "radio", name: rootId + "-" + item.id, id: id, value: String(s.value),
                            "aria-invalid": error ? "true" : null});
                        input.checked = String(draft[item.id]) === String(s.value);
                        input.addEventListener("change", function () { draft[item.id] = s.value; });
                        scale.appendChild(el("div.cec-choice", null, [input, el("label", {"for": id, text: LABELS.likert[s.value] || s.label})]));
                    });
                    fs.appendChild(scale);
                } else {
                    var id = nextId("t");
                    fs.appendChild(el("legend.cec-sr", {text: legendText}));
                    var area = el("textarea", {id: id, rows: "4", maxlength: "2000"});
                    area.value = draft[item.id] || "";
                    area.addEventListener("input", function () { draft[item.id] = area.value; });
                    var terr = fieldError(item.id, area);
                    if (terr) { area.setAttribute("aria-invalid", "true"); }
                    fs.appendChild(el("label.cec-label", {"for": id, text: legendText}));
                    if (terr) { fs.appendChild(terr); }
                    fs.appendChild(area);
                }
                f.appendChild(fs);
            });
            var actions = el("div.cec-actions", null, [el("button.cec-button.cec-primary", {type: "submit", text: gettext("Submit evaluation")})]);
            if (!ev.required) {
                actions.appendChild(button(gettext("Skip the evaluation"), function () { call("evaluation", {skip: true}); }));
            }
            f.appendChild(actions);
            f.addEventListener("submit", function (e) {
                e.preventDefault();
                var answers = {};
                state.errors = {};
                ev.items.forEach(function (item) {
                    var v = draft[item.id];
                    if (v !== undefined && v !== "") { answers[item.id] = v; }
                    else if (item.required && ev.required) { state.errors[item.id] = gettext("Please answer this item."); }
                });
                if (Object.keys(state.errors).length) {
                    render(view, {errorFocus: true});
                    announce(gettext("Some required items have no answer yet."));
                    return;
                }
                call("evaluation", {answers: answers}, {announce: gettext("Thank you. Your evaluation was submitted.")});
            });
            section.appendChild(f);
        }

        function renderAttestation(view, section) {
            section.appendChild(stepHeading(gettext("Attestation")));
            var f = el("form.cec-form", {novalidate: true});
            var err = formError();
            if (err) { f.appendChild(err); }
            f.appendChild(rich("div.cec-attestation-text", view.attestation.text));
            var id = nextId("att");
            var box = el("input", {type: "checkbox", id: id});
            var ferr = fieldError("confirm", box);
            if (ferr) { box.setAttribute("aria-invalid", "true"); }
            f.appendChild(el("div.cec-choice", null, [box, el("label", {"for": id, text: gettext("I confirm the statement above.")})]));
            if (ferr) { f.appendChild(ferr); }
            f.appendChild(el("div.cec-actions", null, [el("button.cec-button.cec-primary", {type: "submit", text: gettext("Confirm")})]));
            f.addEventListener("submit", function (e) {
                e.preventDefault();
                if (!box.checked) {
                    state.errors = {confirm: gettext("Tick the box to confirm the attestation.")};
                    render(view, {errorFocus: true});
                    return;
                }
                call("attest", {confirm: true});
            });
            section.appendChild(f);
        }

        function renderDetails(view, section) {
            var d = view.details;
            section.appendChild(stepHeading(gettext("Your details for the certificate")));
            section.appendChild(el("p", {text: gettext("Your certificate shows these details exactly as you enter them. Check them against your licence.")}));
            var f = el("form.cec-form", {novalidate: true});
            var err = formError();
            if (err) { f.appendChild(err); }
            var inputs = {};
            var autocomplete = {legal_name: "name", license_number: "off", license_state: "off", profession: "organization-title"};
            d.required.forEach(function (name) {
                var id = nextId("d");
                var hint = null;
                var input = el("input.cec-input", {type: "text", id: id, name: name, autocomplete: autocomplete[name],
                    required: true, "aria-required": "true", maxlength: name === "license_state" ? "2" : "200"});
                input.value = state.draft[name] !== undefined ? state.draft[name] : (d.values[name] || "");
                input.addEventListener("input", function () { state.draft[name] = input.value; });
                if (name === "legal_name" && d.prefilled_from_profile) {
                    hint = el("p.cec-hint", {id: nextId("hint"), text: gettext("Filled in from your account. Change it if your licence shows a different name.")});
                    input.setAttribute("aria-describedby", hint.id);
                }
                var ferr = fieldError(name, input);
                if (ferr) { input.setAttribute("aria-invalid", "true"); }
                inputs[name] = input;
                f.appendChild(el("div.cec-field", null, [el("label.cec-label", {"for": id, text: LABELS.detail[name] || name}), hint, ferr, input]));
            });
            f.appendChild(el("div.cec-actions", null, [el("button.cec-button.cec-primary", {type: "submit", text: gettext("Confirm my details")})]));
            f.addEventListener("submit", function (e) {
                e.preventDefault();
                var payload = {};
                state.errors = {};
                Object.keys(inputs).forEach(function (name) {
                    payload[name] = inputs[name].value.trim();
                    if (!payload[name]) { state.errors[name] = fmt(gettext("Enter your %(field)s."), {field: (LABELS.detail[name] || name).split(" (")[0].toLowerCase()}); }
                });
                if (Object.keys(state.errors).length) {
                    render(view, {errorFocus: true});
                    return;
                }
                call("details", payload);
            });
            section.appendChild(f);
        }

        function renderCertificate(view, section) {
            var c = view.certificate;
            var err = formError();
            if (!c.issued) {
                section.appendChild(stepHeading(gettext("Your certificate")));
                if (err) { section.appendChild(err); }
                var actions = el("div.cec-actions");
                var get = button(gettext("Get my certificate"), function () {
                    call("certificate", {}, {announce: gettext("Your certificate is ready.")});
                }, "cec-primary");
                var blocking = (c.refusals || []).filter(function (r) { return r.code !== "minimum-time-not-met"; });
                if (blocking.length) {
                    section.appendChild(el("p", {text: gettext("A certificate cannot be issued yet:")}));
                    var ul = el("ul.cec-refusals");
                    blocking.forEach(function (r) { ul.appendChild(el("li", {text: r.message})); });
                    section.appendChild(ul);
                }
                if (c.wait_seconds > 0) {
                    get.disabled = true;
                    actions.appendChild(countdown(c.wait_seconds,
                        gettext("This activity has a minimum time. Your certificate is available in %(time)s."),
                        gettext("Your certificate is now available."), function () { get.disabled = false; }));
                } else {
                    section.appendChild(el("p", {text: gettext("You have completed every step. Your certificate is ready to be issued.")}));
                }
                actions.appendChild(get);
                section.appendChild(actions);
                return;
            }
            section.appendChild(stepHeading(gettext("Your certificate")));
            if (err) { section.appendChild(err); }
            var dl = el("dl.cec-facts");
            function fact(term, value) {
                dl.appendChild(el("div.cec-fact", null, [el("dt", {text: term}), el("dd", {text: value})]));
            }
            fact(gettext("Certificate number"), c.id || "");
            fact(gettext("Issued to"), c.learner_name || "");
            fact(gettext("Issued on"), dateFmt(view.locale, c.issued_at, false));
            section.appendChild(dl);
            var links = c.links || {};
            var list = el("ul.cec-links");
            if (links.pdf) { list.appendChild(el("li", null, [el("a.cec-button.cec-primary", {href: links.pdf, download: "", text: gettext("Download the certificate (PDF)")})])); }
            if (links.credential) { list.appendChild(el("li", null, [el("a.cec-button", {href: links.credential, download: "", text: gettext("Download the Open Badges credential (JSON)")})])); }
            if (links.verify) { list.appendChild(el("li", null, [el("a.cec-button", {href: links.verify, target: "_blank", rel: "noopener", text: gettext("Open the verification page (opens in a new tab)")})])); }
            section.appendChild(list);
            if (links.verify) {
                section.appendChild(el("p.cec-hint", null, [gettext("Licensing boards can check this certificate at:"), " ", el("code.cec-url", {text: links.verify, dir: "ltr"})]));
            }
        }

        var STEP_RENDERERS = {
            info: renderInfo,
            posttest: renderPosttest,
            result: renderResult,
            evaluation: renderEvaluation,
            attestation: renderAttestation,
            details: renderDetails,
            certificate: renderCertificate
        };

        var controller = {
            render: function (view) { render(view, {}); },
            call: call,
            get view() { return state.view; }
        };
        if (adapter.initialView) {
            render(adapter.initialView, {});
        } else {
            adapter.call("view", {}).then(function (v) { render(v, {}); }, function (e) {
                body.textContent = (e && e.message) || gettext("This activity could not be loaded. Please reload the page.");
            });
        }
        return controller;
    }

    // ---- Open edX: the XBlock adapter ----------------------------------------------------------

    function cookie(name) {
        var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
        return m ? decodeURIComponent(m[1]) : "";
    }

    /* POST a JSON body; resolve with the JSON answer, reject with the error body ({message, field}). */
    function jsonPost(url, data, extraHeaders) {
        var headers = {"Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest"};
        Object.keys(extraHeaders || {}).forEach(function (k) { headers[k] = extraHeaders[k]; });
        var token = cookie("csrftoken");
        if (token) { headers["X-CSRFToken"] = token; }
        return global.fetch(url, {
            method: "POST", credentials: "same-origin", headers: headers, body: JSON.stringify(data)
        }).then(function (r) {
            return r.json().catch(function () { return {}; }).then(function (body) {
                if (!r.ok) {
                    if (!body.message) { body.message = gettext("The server could not process this request. Please try again."); }
                    throw body;
                }
                return body;
            });
        }, function () {
            throw {message: gettext("The connection failed. Check your network and try again.")};
        });
    }

    /* POST {action, payload} as JSON to a URL; resolve with the view, reject with the error body. */
    function jsonAdapter(url, initialView, extraHeaders) {
        return {
            initialView: initialView,
            call: function (action, payload) {
                return jsonPost(url, {action: action, payload: payload}, extraHeaders);
            }
        };
    }

    function CECreditXBlock(runtime, element, init) {
        var node = element && element.jquery ? element[0] : element;
        var root = node.querySelector(".cec-root") || node;
        init = init || {};
        var adapter = jsonAdapter(runtime.handlerUrl(node, "api"), init.view || null);
        var staffForm = node.querySelector(".cec-accommodation-form");
        if (staffForm) { accommodationForm(staffForm, runtime.handlerUrl(node, "accommodation"), node); }
        var certForm = node.querySelector(".cec-certificate-form");
        if (certForm) { certificateForm(certForm, runtime.handlerUrl(node, "certificate_admin"), node); }
        return mount(root, adapter);
    }

    /* The staff form that revokes or corrects a certificate: errors beside the field, focus on the outcome. */
    function certificateForm(form, url, node) {
        var message = form.querySelector(".cec-certificate-message");
        var tbody = node.querySelector(".cec-certificate-log tbody");
        var submit = form.querySelector("button[type=submit]");
        function clearErrors() {
            Array.prototype.forEach.call(form.querySelectorAll(".cec-error"), function (e) { e.parentNode.removeChild(e); });
            Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (i) {
                i.removeAttribute("aria-invalid");
                i.removeAttribute("aria-describedby");
            });
        }
        function showError(field, text) {
            var input = field && form.elements[field];
            if (!input || !input.parentNode || input.length) {
                message.hidden = false;
                message.className = "cec-certificate-message cec-error cec-error-summary";
                message.textContent = text;
                message.focus();
                return;
            }
            var id = nextId("err");
            var p = el("p.cec-error", {id: id}, [el("span.cec-error-icon", {"aria-hidden": "true", text: "!"}), " ", text]);
            input.parentNode.insertBefore(p, input);
            input.setAttribute("aria-invalid", "true");
            input.setAttribute("aria-describedby", id);
            input.focus();
        }
        form.addEventListener("submit", function (e) {
            e.preventDefault();
            clearErrors();
            message.hidden = true;
            var action = (form.querySelector("input[name=action]:checked") || {}).value || "correct";
            var body = {action: action, certificate_id: form.elements.certificate_id.value.trim(), reason: form.elements.reason.value.trim(), changes: {}};
            if (!body.certificate_id) { showError("certificate_id", gettext("Enter the certificate number, e.g. CE-7F3K-9Q2M.")); return; }
            if (!body.reason) { showError("reason", gettext("Give the reason; it is kept with the record.")); return; }
            ["legal_name", "license_number", "license_state", "profession"].forEach(function (name) {
                var v = form.elements[name] && form.elements[name].value.trim();
                if (v) { body.changes[name] = v; }
            });
            submit.disabled = true;
            jsonPost(url, body).then(function (res) {
                submit.disabled = false;
                if (tbody && res.rows_html) { tbody.innerHTML = res.rows_html; }
                message.hidden = false;
                message.className = "cec-certificate-message cec-notice";
                message.textContent = res.message;
                message.focus();
            }, function (err) {
                submit.disabled = false;
                showError(err.field, err.message || gettext("Something went wrong. Please try again."));
            });
        });
    }

    /* The staff accommodation form in the staff summary: errors beside the field, focus on the outcome. */
    function accommodationForm(form, url, node) {
        var message = form.querySelector(".cec-accommodation-message");
        var tbody = node.querySelector(".cec-accommodation-table tbody");
        var submit = form.querySelector("button[type=submit]");
        function clearErrors() {
            Array.prototype.forEach.call(form.querySelectorAll(".cec-error"), function (e) { e.parentNode.removeChild(e); });
            Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (i) {
                i.removeAttribute("aria-invalid");
                i.removeAttribute("aria-describedby");
            });
        }
        function showError(field, text) {
            var input = field && form.elements[field];
            if (!input) {
                message.hidden = false;
                message.className = "cec-accommodation-message cec-error cec-error-summary";
                message.textContent = text;
                message.focus();
                return;
            }
            var id = nextId("err");
            var p = el("p.cec-error", {id: id}, [el("span.cec-error-icon", {"aria-hidden": "true", text: "!"}), " ", text]);
            input.parentNode.insertBefore(p, input);
            input.setAttribute("aria-invalid", "true");
            input.setAttribute("aria-describedby", id);
            input.focus();
        }
        form.addEventListener("submit", function (e) {
            e.preventDefault();
            clearErrors();
            message.hidden = true;
            var learner = form.elements.learner.value.trim();
            if (!learner) { showError("learner", gettext("Enter the learner's username or anonymous user id.")); return; }
            submit.disabled = true;
            jsonPost(url, {
                learner: learner,
                extra_attempts: form.elements.extra_attempts.value,
                extra_minutes: form.elements.extra_minutes.value
            }).then(function (body) {
                submit.disabled = false;
                if (tbody && body.rows_html) { tbody.innerHTML = body.rows_html; }
                message.hidden = false;
                message.className = "cec-accommodation-message cec-notice";
                message.textContent = body.message;
                message.focus();
            }, function (err) {
                submit.disabled = false;
                showError(err.field, err.message || gettext("Something went wrong. Please try again."));
            });
        });
    }

    global.CECredit = {mount: mount, jsonAdapter: jsonAdapter, gettext: gettext, ngettext: ngettext, fmt: fmt};
    global.CECreditXBlock = CECreditXBlock;
}(window));
