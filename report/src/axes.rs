//! Scales and axes shared by the timeline and the plots: a linear or logarithmic map from data to
//! pixels, and tick values people read easily (1, 2 or 5 times a power of ten).

use crate::markup::{escape, num};
use std::fmt::Write;

/// A map from a data interval onto a pixel interval.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// The data interval (for a log scale, of the values themselves, both above 0).
    pub domain: (f64, f64),
    /// The pixel interval (may run backwards, as a y axis does).
    pub range: (f64, f64),
    /// Whether the map is logarithmic (base 10).
    pub log: bool,
}

impl Scale {
    /// A linear scale; an empty domain is widened so that nothing divides by zero.
    pub fn linear(domain: (f64, f64), range: (f64, f64)) -> Scale {
        let (lo, hi) = domain;
        let domain = if hi > lo { (lo, hi) } else { (lo, lo + 1.0) };
        Scale {
            domain,
            range,
            log: false,
        }
    }

    /// A base-10 logarithmic scale from one decade below the smallest value to one above the
    /// largest, rounded out to whole decades.
    pub fn log(min: f64, max: f64, range: (f64, f64)) -> Scale {
        let lo = 10f64.powf(min.max(1e-9).log10().floor());
        let hi = 10f64.powf(max.max(lo).log10().ceil()).max(lo * 10.0);
        Scale {
            domain: (lo, hi),
            range,
            log: true,
        }
    }

    /// The pixel of data value `x` (clamped into the domain).
    pub fn at(&self, x: f64) -> f64 {
        let (lo, hi) = self.domain;
        let t = if self.log {
            (x.max(lo).log10() - lo.log10()) / (hi.log10() - lo.log10())
        } else {
            (x - lo) / (hi - lo)
        };
        let t = t.clamp(0.0, 1.0);
        self.range.0 + t * (self.range.1 - self.range.0)
    }

    /// The values worth a tick: about `want` round values for a linear scale, each decade (and 2
    /// and 5 within it when there are few decades) for a log scale.
    pub fn ticks(&self, want: usize) -> Vec<f64> {
        let (lo, hi) = self.domain;
        if self.log {
            let decades = (hi.log10() - lo.log10()).round() as i32;
            let mut ticks = Vec::new();
            let mut d = lo;
            for _ in 0..=decades {
                ticks.push(d);
                if decades <= 3 {
                    ticks.extend([2.0 * d, 5.0 * d].into_iter().filter(|&t| t < hi));
                }
                d *= 10.0;
            }
            ticks
        } else {
            let step = nice_step((hi - lo) / want.max(1) as f64);
            let mut ticks = Vec::new();
            let mut t = (lo / step).ceil() * step;
            while t <= hi + step * 1e-9 {
                ticks.push(t);
                t += step;
            }
            ticks
        }
    }
}

/// The round step (1, 2 or 5 times a power of ten) nearest above `raw`.
pub fn nice_step(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let m = raw / power;
    let nice = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// A tick's label: as few decimals as the value needs.
pub fn tick_label(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.01 {
        format!("{v:.3}")
    } else {
        num(v)
    }
}

/// The frame of a plot: where its drawing area lies in its SVG.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    /// Left edge of the drawing area.
    pub left: f64,
    /// Top edge of the drawing area.
    pub top: f64,
    /// Width of the drawing area.
    pub width: f64,
    /// Height of the drawing area.
    pub height: f64,
}

impl Frame {
    /// Right edge of the drawing area.
    pub fn right(&self) -> f64 {
        self.left + self.width
    }

    /// Bottom edge of the drawing area.
    pub fn bottom(&self) -> f64 {
        self.top + self.height
    }

    /// Grid lines, tick labels and axis titles for `x` (along the bottom) and `y` (on the left).
    pub fn axes(&self, x: &Scale, y: &Scale, x_title: &str, y_title: &str) -> String {
        let mut s = String::new();
        let _ = write!(s, r#"<g class="axis">"#);
        for t in x.ticks(8) {
            let px = num(x.at(t));
            let _ = write!(
                s,
                r#"<line class="grid" x1="{px}" x2="{px}" y1="{}" y2="{}"/><text x="{px}" y="{}" text-anchor="middle">{}</text>"#,
                num(self.top),
                num(self.bottom()),
                num(self.bottom() + 14.0),
                tick_label(t)
            );
        }
        for t in y.ticks(5) {
            let py = num(y.at(t));
            let _ = write!(
                s,
                r#"<line class="grid" x1="{}" x2="{}" y1="{py}" y2="{py}"/><text x="{}" y="{py}" dy="4" text-anchor="end">{}</text>"#,
                num(self.left),
                num(self.right()),
                num(self.left - 5.0),
                tick_label(t)
            );
        }
        let _ = write!(
            s,
            r#"<rect class="frame" x="{}" y="{}" width="{}" height="{}"/><text x="{}" y="{}" text-anchor="middle" class="title">{}</text><text transform="translate(12 {}) rotate(-90)" text-anchor="middle" class="title">{}</text></g>"#,
            num(self.left),
            num(self.top),
            num(self.width),
            num(self.height),
            num(self.left + self.width / 2.0),
            num(self.bottom() + 30.0),
            escape(x_title),
            num(self.top + self.height / 2.0),
            escape(y_title)
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_scale_maps_and_ticks_round_values() {
        let s = Scale::linear((0.0, 10.0), (100.0, 200.0));
        assert_eq!(s.at(5.0), 150.0);
        assert_eq!(s.at(20.0), 200.0);
        assert_eq!(s.ticks(5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let empty = Scale::linear((3.0, 3.0), (0.0, 1.0));
        assert_eq!(empty.at(3.0), 0.0);
    }

    #[test]
    fn log_scale_rounds_out_to_decades() {
        let s = Scale::log(0.3, 40.0, (0.0, 300.0));
        assert_eq!(s.domain, (0.1, 100.0));
        assert!((s.at(1.0) - 100.0).abs() < 1e-9);
        assert_eq!(s.ticks(5)[..3], [0.1, 0.2, 0.5]);
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(nice_step(1.5), 2.0);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(0.0), 1.0);
    }
}
