// The interview-quality page: rubric shares per prompt version (data from json_script).
document.addEventListener("DOMContentLoaded", function () {
  if (typeof valuelabCharts === "undefined") { return; }
  var data = valuelabCharts.readJson("grades-data");
  valuelabCharts.render(document.getElementById("grades-chart"), valuelabCharts.spec({
    type: "bar", min: 0, max: 100, y: "% of interviews", legend: true,
    labels: ["Personal story", "Led the witness", "One question at a time"],
    series: data.labels.map(function (label, i) {
      return { label: label, values: [data.personal_story[i], data.led_the_witness[i],
                                      data.one_question_at_a_time[i]] };
    })
  }));
});
