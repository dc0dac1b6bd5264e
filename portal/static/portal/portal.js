/* A few progressive enhancements; every page works without them. */
(function () {
  "use strict";

  // After a refused form, put the keyboard on the first field in error.
  var invalid = document.querySelector('[aria-invalid="true"]');
  if (invalid) {
    invalid.focus();
  }

  // A second click while a form is on its way sends nothing (the server refuses repeats too).
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.submitted) {
        event.preventDefault();
        return;
      }
      form.dataset.submitted = "1";
      var button = event.submitter || form.querySelector("button[type=submit], button:not([type])");
      if (button) {
        button.setAttribute("aria-busy", "true");
      }
    });
  });

  // The resend button waits out the cool-down the server reported.
  document.querySelectorAll("[data-cooldown]").forEach(function (note) {
    var left = parseInt(note.dataset.cooldown, 10);
    var button = document.getElementById(note.dataset.button);
    var seconds = note.querySelector("[data-seconds]");
    var timer = setInterval(function () {
      left -= 1;
      if (left > 0) {
        seconds.textContent = String(left);
        return;
      }
      clearInterval(timer);
      note.textContent = "You can ask for a new code now.";
      if (button) {
        button.disabled = false;
      }
    }, 1000);
  });

  // A job's announcement: poll its progress every 2 s until every message is handled.
  var bar = document.getElementById("bulk-progress");
  if (bar && bar.dataset.url && bar.dataset.finished !== "true") {
    var fill = bar.querySelector(".progressbar-fill");
    var text = document.getElementById("bulk-progress-text");
    var finishedPolls = 0;
    var poll = function () {
      fetch(bar.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.json();
        })
        .then(function (data) {
          bar.setAttribute("aria-valuenow", String(data.percent));
          bar.setAttribute("aria-valuetext", data.text);
          fill.style.width = data.percent + "%";
          if (text.textContent !== data.text) {
            text.textContent = data.text;
          }
          bar.parentElement.querySelectorAll("[data-progress]").forEach(function (cell) {
            var value = data[cell.dataset.progress];
            if (value !== undefined && value !== null) {
              cell.textContent = String(value);
            }
          });
          // Handed over, then delivered: keep polling a minute more for the delivery reports.
          if (data.finished) {
            finishedPolls += 1;
          }
          if (data.settled || finishedPolls > 30) {
            bar.dataset.finished = "true";
          } else {
            setTimeout(poll, 2000);
          }
        })
        .catch(function () {
          text.textContent += " (live updates stopped: reload the page to see the latest)";
        });
    };
    setTimeout(poll, 2000);
  }
})();
