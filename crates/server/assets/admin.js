// The owner's pages are written with times in the business's time zone, which the days
// and periods are counted in. Each moment is shown here in the viewer's own zone too, so
// an owner abroad reads both; without this script the business's time stays alone.
"use strict";

for (const element of document.querySelectorAll("time[datetime]")) {
  const moment = new Date(element.dateTime);
  if (Number.isNaN(moment.getTime())) continue;
  const local = moment.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  element.title = `${element.textContent} in the business's time zone`;
  element.textContent = `${local} (your time)`;
}
