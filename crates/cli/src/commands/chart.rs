//! The coverage/risk curve of an evaluation as a small SVG chart: share of questions
//! resolved against share answered wrongly, one point per threshold of the sweep, one
//! curve per configuration evaluated (with the sentence model, from words alone).
//!
//! Written directly as SVG text: the chart is a polyline per curve, a few labels and two
//! axes, which a plotting library would draw no better, and the file opens in any browser.

use std::fmt::Write as _;

use frontdesk_knowledge::eval::{EvalReport, Rates};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 48.0;
const BOTTOM: f64 = 56.0;

/// Curve colours, in the order the configurations are given.
const COLOURS: [&str; 3] = ["#2271b1", "#b26200", "#008a20"];

/// One evaluated configuration, named for the legend.
pub struct Curve<'a> {
    pub name: &'a str,
    pub report: &'a EvalReport,
}

/// The chart as an SVG document. The wrong-answer axis runs to the largest rate seen
/// (at least 5 %), so the low-risk end where owners choose a threshold stays readable.
pub fn coverage_risk_svg(curves: &[Curve], title: &str) -> String {
    let max_wrong = curves
        .iter()
        .flat_map(|curve| &curve.report.sweep)
        .map(|rates| rates.wrong_answer_rate)
        .fold(0.05_f64, f64::max);
    let x_max = (max_wrong * 100.0 / 5.0).ceil() * 5.0 / 100.0;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |wrong: f64| LEFT + wrong / x_max * plot_w;
    let y = |resolved: f64| TOP + (1.0 - resolved) * plot_h;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"
  width="{WIDTH}" height="{HEIGHT}" font-family="system-ui, sans-serif" font-size="12"
  role="img" aria-labelledby="title">
<title id="title">Resolved against wrong answers by threshold: {}</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="{LEFT}" y="24" font-size="15" font-weight="600">Coverage and risk by answer
  threshold</text>
<text x="{LEFT}" y="40" fill="#50575e">{}</text>
"##,
        escape(title),
        escape(title)
    );

    // Grid and axes: resolved every 10 %, wrong answers every 1 % (or 5 % when wide).
    for step in 0..=10 {
        let value = f64::from(step) / 10.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e6e6e6"/>
<text x="{}" y="{:.1}" text-anchor="end">{}%</text>"##,
            LEFT + plot_w,
            LEFT - 8.0,
            y(value) + 4.0,
            step * 10,
            y = y(value),
        );
    }
    let x_step = if x_max > 0.1 { 0.05 } else { 0.01 };
    let ticks = (x_max / x_step).round() as u32;
    for tick in 0..=ticks {
        let value = f64::from(tick) * x_step;
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{}" stroke="#e6e6e6"/>
<text x="{x:.1}" y="{}" text-anchor="middle">{}%</text>"##,
            TOP + plot_h,
            TOP + plot_h + 18.0,
            (value * 100.0).round(),
            x = x(value),
        );
    }
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" text-anchor="middle">wrong answers (share of all questions)</text>
<text transform="translate(16 {}) rotate(-90)" text-anchor="middle">resolved by the assistant</text>
"##,
        LEFT + plot_w / 2.0,
        HEIGHT - 12.0,
        TOP + plot_h / 2.0,
    );

    for (i, curve) in curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = curve
            .report
            .sweep
            .iter()
            .map(|rates| {
                format!(
                    "{:.1},{:.1}",
                    x(rates.wrong_answer_rate),
                    y(rates.resolution_rate)
                )
            })
            .collect();
        let _ = writeln!(
            svg,
            r##"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"##,
            points.join(" ")
        );
        for rates in &curve.report.sweep {
            let _ = writeln!(
                svg,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{}</title></circle>"##,
                x(rates.wrong_answer_rate),
                y(rates.resolution_rate),
                escape(&describe(curve.name, rates))
            );
        }
        let chosen = &curve.report.at_threshold;
        let (cx, cy) = (x(chosen.wrong_answer_rate), y(chosen.resolution_rate));
        let _ = writeln!(
            svg,
            r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="6" fill="none" stroke="#d63638" stroke-width="2"/>
<text x="{:.1}" y="{:.1}" fill="#d63638">{}</text>"##,
            cx + 10.0,
            cy - 8.0,
            escape(&format!("threshold {:.2}", chosen.threshold)),
        );
        // The legend sits in the plot's lower right, where curves that rise steeply
        // from the left seldom reach.
        let legend_y = TOP + plot_h - 12.0 - 18.0 * (curves.len() - 1 - i) as f64;
        let legend_x = LEFT + plot_w - 200.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{legend_x:.1}" x2="{:.1}" y1="{legend_y:.1}" y2="{legend_y:.1}" stroke="{colour}" stroke-width="3"/>
<text x="{:.1}" y="{:.1}">{}</text>"##,
            legend_x + 24.0,
            legend_x + 30.0,
            legend_y + 4.0,
            escape(curve.name),
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn describe(name: &str, rates: &Rates) -> String {
    format!(
        "{name}, threshold {:.2}: {:.1} % resolved, {:.1} % wrong",
        rates.threshold,
        rates.resolution_rate * 100.0,
        rates.wrong_answer_rate * 100.0
    )
}

/// Text for an SVG element: a file name may hold `<` or `&`.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
