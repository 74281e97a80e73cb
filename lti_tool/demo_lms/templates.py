"""The demo LMS's HTML: the course page and the small pages shown inside the tool frame.

Kept as Python strings (rendered with Flask's Jinja) so the package needs no data files.
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo LMS: {{ state.context.title }}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #f6f6f4; line-height: 1.45; }
  header, main { max-width: 76rem; margin: 0 auto; padding: 0.75rem 1.25rem; }
  header { border-bottom: 3px solid #2a5d84; }
  h1 { font-size: 1.5rem; margin: 0.3rem 0; }
  h2 { font-size: 1.2rem; margin: 1.25rem 0 0.5rem; }
  .layout { display: grid; grid-template-columns: minmax(18rem, 26rem) 1fr; gap: 1.25rem; align-items: start; }
  @media (max-width: 60rem) { .layout { grid-template-columns: 1fr; } }
  /* a phone-wide page (320px) never scrolls sideways: the tool's frame gets the page's width */
  .layout > *, fieldset { min-width: 0; }
  #gradebook { overflow-x: auto; }
  fieldset { border: 1px solid #8a8a8a; border-radius: 4px; margin: 0 0 1rem; background: #fff; }
  legend { font-weight: 600; padding: 0 0.3rem; }
  label { display: block; margin: 0.5rem 0 0.2rem; font-weight: 600; }
  select, button { font: inherit; }
  select { width: 100%; padding: 0.3rem; }
  button { padding: 0.45rem 0.9rem; margin: 0.6rem 0.4rem 0 0; border: 1px solid #1d4f73; border-radius: 4px;
           background: #2a5d84; color: #fff; cursor: pointer; }
  button.secondary { background: #fff; color: #1d4f73; }
  button:focus-visible, select:focus-visible, a:focus-visible, #gradebook:focus-visible { outline: 3px solid #d97706; outline-offset: 2px; }
  button[disabled] { opacity: 0.6; cursor: not-allowed; }
  .hint { font-size: 0.92rem; color: #444; margin: 0.3rem 0; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
  th, td { border: 1px solid #b5b5b5; padding: 0.35rem 0.5rem; text-align: left; vertical-align: top; }
  th { background: #e8eef3; }
  td .comment { display: block; font-size: 0.85rem; color: #444; }
  iframe { width: 100%; height: 46rem; border: 2px solid #2a5d84; border-radius: 4px; background: #fff; }
  dl.details { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 0.8rem; font-size: 0.9rem; }
  dl.details dd { margin: 0; word-break: break-all; }
  .trouble { background: #fff4e5; }
</style>
</head>
<body>
<header>
  <h1>Demo LMS: {{ state.context.title }}</h1>
  <p class="hint">A pretend learning platform on this computer. It launches the CE Credit tool with LTI 1.3,
  exactly as Canvas or Moodle would, and shows the grades the tool sends back.</p>
</header>
<main>
<div class="layout">
<div>
  <form method="post" action="{{ url_for('demo_lms.launch') }}" target="tool-frame" id="launch-form">
    <fieldset>
      <legend>Launch the tool</legend>
      <label for="user">Who are you?</label>
      <select id="user" name="user">
        {% for u in state.users %}<option value="{{ u.id }}">{{ u.name }} ({{ u.role }})</option>{% endfor %}
      </select>
      <label for="link">Course activity</label>
      <select id="link" name="link" aria-describedby="link-hint">
        {% for l in state.links %}<option value="{{ l.id }}">{{ l.title }} ({{ l.id }})</option>{% endfor %}
      </select>
      <p class="hint" id="link-hint">{% if not state.links %}No activity in the course yet:
        press <strong>Deep link</strong> to pick one from the tool.{% else %}Each activity is a resource link
        in the course. <strong>Deep link</strong> adds another.{% endif %}</p>
      <label for="locale">Language of the launch</label>
      <select id="locale" name="locale" aria-describedby="locale-hint">
        {% for value, text in locales %}<option value="{{ value }}"{% if value %} lang="{{ value }}"{% endif %}>{{ text }}</option>{% endfor %}
      </select>
      <p class="hint" id="locale-hint">Sent as the <code>locale</code> of the launch_presentation claim, as an
        LMS sends the user's language. The tool falls back to the browser's language without it.</p>
      <button type="submit" name="kind" value="learner">Launch as learner</button>
      <button type="submit" name="kind" value="instructor">Launch as instructor</button>
      <button type="submit" name="kind" value="deeplink" class="secondary">Deep link</button>
      <p class="hint">The tool opens in the frame on this page. <label style="display:inline;font-weight:normal">
        <input type="checkbox" id="new-window"> open it in a new window instead</label></p>
    </fieldset>
  </form>

  <section aria-labelledby="gradebook-heading">
    <h2 id="gradebook-heading">Gradebook</h2>
    <div id="gradebook" role="region" tabindex="0" aria-labelledby="gradebook-heading">{{ gradebook|safe }}</div>
    <p><button type="button" class="secondary" id="refresh">Refresh gradebook</button>
      <label style="display:inline;font-weight:normal"><input type="checkbox" id="auto-refresh" checked>
      refresh every 3 seconds</label></p>
    <p id="gradebook-status" class="hint" role="status"></p>
    <noscript><p><a href="{{ url_for('demo_lms.index') }}">Reload the page</a> to see new grades.</p></noscript>
  </section>

  <details class="trouble">
    <summary>Platform trouble (to watch the tool's grade outbox at work)</summary>
    <form method="post" action="{{ url_for('demo_lms.control') }}">
      <fieldset>
        <legend>How the platform answers grade requests</legend>
        {% for value, text in modes %}
        <label style="font-weight:normal"><input type="radio" name="mode" value="{{ value }}"
          {% if value == mode %}checked{% endif %}> {{ text }}</label>
        {% endfor %}
        <button type="submit" class="secondary">Apply</button>
      </fieldset>
    </form>
  </details>

  <details>
    <summary>Registration details (what an LMS admin would type in)</summary>
    <dl class="details">
      <dt>Issuer</dt><dd>{{ issuer }}</dd>
      <dt>Client id</dt><dd>{{ tool.client_id if tool else "(no tool registered)" }}</dd>
      <dt>Deployment id</dt><dd>{{ tool.deployment_id if tool else "" }}</dd>
      <dt>Authorization URL</dt><dd>{{ issuer }}/auth</dd>
      <dt>Token URL</dt><dd>{{ issuer }}/token</dd>
      <dt>Platform JWKS</dt><dd>{{ issuer }}/jwks</dd>
      <dt>Tool login URL</dt><dd>{{ tool.login_url if tool else "" }}</dd>
      <dt>Tool launch URL</dt><dd>{{ tool.launch_url if tool else "" }}</dd>
      <dt>Tool JWKS</dt><dd>{{ tool.jwks_url if tool else "" }}</dd>
    </dl>
  </details>
</div>
<section aria-labelledby="tool-heading">
  <h2 id="tool-heading">The tool</h2>
  <iframe name="tool-frame" id="tool-frame" title="CE Credit tool"
    src="{{ url_for('demo_lms.frame_placeholder') }}"
    allow="clipboard-write; fullscreen" ></iframe>
</section>
</div>
</main>
<script>
(function () {
  "use strict";
  var form = document.getElementById("launch-form");
  var newWindow = document.getElementById("new-window");
  newWindow.addEventListener("change", function () { form.target = newWindow.checked ? "_blank" : "tool-frame"; });
  var gradebook = document.getElementById("gradebook");
  var status = document.getElementById("gradebook-status");
  var linkSelect = document.getElementById("link");
  var lastScores = null;
  function refresh(announce) {
    return fetch("{{ url_for('demo_lms.gradebook_fragment') }}", {cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.html !== gradebook.innerHTML) { gradebook.innerHTML = data.html; }
        var known = Array.prototype.map.call(linkSelect.options, function (o) { return o.value; });
        if (data.links.map(function (l) { return l.id; }).join(",") !== known.join(",")) {
          var chosen = linkSelect.value;
          linkSelect.innerHTML = "";
          data.links.forEach(function (l) {
            var o = document.createElement("option");
            o.value = l.id; o.textContent = l.title + " (" + l.id + ")"; linkSelect.appendChild(o);
          });
          // a link that deep linking just added is the one the instructor wants to try next
          var added = data.links.filter(function (l) { return known.indexOf(l.id) < 0; });
          linkSelect.value = added.length && known.length ? added[added.length - 1].id : chosen;
          if (!linkSelect.value && data.links.length) { linkSelect.value = data.links[0].id; }
          if (added.length && known.length) { status.textContent = "New course activity added: " + added[added.length - 1].title + "."; }
        }
        // announce only a change in the scores, so screen readers are not chattered at every 3 seconds
        if (lastScores !== null && data.scores !== lastScores) { status.textContent = "New grade received."; }
        else if (announce) { status.textContent = "Gradebook is up to date."; }
        lastScores = data.scores;
      })
      .catch(function () { status.textContent = "Could not reach the demo LMS."; });
  }
  document.getElementById("refresh").addEventListener("click", function () { refresh(true); });
  var auto = document.getElementById("auto-refresh");
  setInterval(function () { if (auto.checked) { refresh(false); } }, 3000);
  refresh(false);
})();
</script>
</body>
</html>
"""

GRADEBOOK = """<table>
<caption>Scores received from the tool through LTI Assignment and Grade Services</caption>
<thead><tr><th scope="col">Gradebook column</th>
{% for user in users %}<th scope="col">{{ user.name }}</th>{% endfor %}
</tr></thead>
<tbody>
{% for item in line_items %}<tr><th scope="row">{{ item.label }} <span class="hint">(out of {{ '%g' % item.score_maximum }})</span></th>
{% for user in users %}{% set r = results.get((item.id, user.id)) %}<td data-user="{{ user.id }}" data-line-item="{{ item.id }}">
{% if r %}{% if r.scoreGiven is not none %}<span class="score">{{ '%g' % r.scoreGiven }} / {{ '%g' % r.scoreMaximum }}</span>{% else %}no score{% endif %}
<span class="comment">{{ r.activityProgress }}, {{ r.gradingProgress }}{% if r.comment %}: {{ r.comment }}{% endif %}</span>
{% else %}<span class="hint">none yet</span>{% endif %}</td>{% endfor %}
</tr>{% endfor %}
</tbody>
</table>
{% if not line_items %}<p class="hint">No gradebook columns yet. The tool creates one when an activity is
deep-linked or first graded.</p>{% endif %}
<p class="hint">Score messages received: {{ log_count }}{% if duplicates %} ({{ duplicates }} repeated, acknowledged
without changing the grade){% endif %}.</p>
"""

FRAME_PLACEHOLDER = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tool frame</title>
<style>body{font-family:system-ui,sans-serif;color:#444;padding:1.5rem;line-height:1.5}</style></head>
<body><p>Pick a user and press <strong>Launch as learner</strong>, <strong>Launch as instructor</strong>
or <strong>Deep link</strong>. The tool appears here.</p></body></html>"""

MESSAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;padding:1.5rem;line-height:1.5}</style></head>
<body><h1>{{ title }}</h1>{% for p in paragraphs %}<p>{{ p }}</p>{% endfor %}
{% if items %}<ul>{% for i in items %}<li>{{ i }}</li>{% endfor %}</ul>{% endif %}</body></html>"""
