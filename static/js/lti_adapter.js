/* The LTI tool's adapter for the shared learner front end: posts {action, payload} JSON to /lti/api/<launch_id>.
 * The launch id in the URL identifies the launch, so no cookie is needed (cookies are often blocked in LMS iframes). */
(function () {
  "use strict";

  // The learner's catalogue (loaded before ce_credit.js), through the front end's own gettext.
  function gettext(s) {
    if (window.CECredit && typeof window.CECredit.gettext === "function") { return window.CECredit.gettext(s); }
    if (window.CECreditI18N && typeof window.CECreditI18N.gettext === "function") { return window.CECreditI18N.gettext(s); }
    return s;
  }
  function fmt(template, values) {
    return template.replace(/%\(([a-z_]+)\)s/g, function (m, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : m;
    });
  }

  function LtiAdapter(apiUrl, initialView) {
    this.apiUrl = apiUrl;
    this.initialView = initialView;
  }

  LtiAdapter.prototype.call = function (action, payload) {
    return fetch(this.apiUrl, {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ action: action, payload: payload || {} })
    }).then(function (resp) {
      return resp.json().catch(function () {
        return { error: "bad-response", message: fmt(gettext("The server sent an unreadable answer (HTTP %(status)s)."), {status: resp.status}), field: null };
      }).then(function (data) {
        if (resp.ok) { return data; }
        // Same rejection shape as the XBlock adapter: {message, field, code}.
        throw { message: data.message || ("HTTP " + resp.status), field: data.field || null, code: data.error || "http-" + resp.status };
      });
    }, function () {
      throw { message: gettext("The server could not be reached. Check your connection and try again."), field: null, code: "network" };
    });
  };

  function boot() {
    var root = document.getElementById("ce-credit-root");
    var data = document.getElementById("ce-credit-initial-view");
    if (!root || !data) { return; }
    var adapter = new LtiAdapter(root.getAttribute("data-api-url"), JSON.parse(data.textContent));
    if (window.CECredit && typeof window.CECredit.mount === "function") {
      window.CECredit.mount(root, adapter);
    } else {
      root.textContent = gettext("The activity could not load its script. Reload the page.");
    }
  }

  window.CECreditLti = { Adapter: LtiAdapter, boot: boot };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", boot);
  } else {
    boot();
  }
})();
