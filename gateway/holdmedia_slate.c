/* What the hold media shows and plays, before it is encoded: a calm slate with two lines of text
 * in a small bitmap font of our own (no font files in the image), three dots that light up in
 * turn so the picture is visibly alive, and a soft two-note chime. */
#include <math.h>
#include <string.h>

#include "balie/holdmedia.h"

/* ---- A 5×7 bitmap font, only the letters the slate needs ---------------------------------- */

/* Two rows below the baseline for descenders (g). */
#define GLYPH_W 5
#define GLYPH_H 9

struct glyph {
    char c;
    uint8_t rows[GLYPH_H]; /* bit 4 is the leftmost column */
};

static const struct glyph font[] = {
    {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F, 0x00, 0x00}},
    {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10, 0x00, 0x00}},
    {'a', {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F, 0x00, 0x00}},
    {'b', {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E, 0x00, 0x00}},
    {'d', {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F, 0x00, 0x00}},
    {'e', {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E, 0x00, 0x00}},
    {'f', {0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08, 0x00, 0x00}},
    {'g', {0x00, 0x00, 0x0F, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x0E}},
    {'h', {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00}},
    {'i', {0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E, 0x00, 0x00}},
    {'l', {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00, 0x00}},
    {'m', {0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11, 0x00, 0x00}},
    {'n', {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00}},
    {'o', {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E, 0x00, 0x00}},
    {'s', {0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E, 0x00, 0x00}},
    {'t', {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06, 0x00, 0x00}},
    {'u', {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D, 0x00, 0x00}},
};

/* NULL for a space or a letter the font lacks: it is drawn as a gap. */
static const struct glyph *glyph_of(char c)
{
    for (size_t i = 0; i < sizeof(font) / sizeof(font[0]); i++)
        if (font[i].c == c)
            return &font[i];
    return NULL;
}

/* ---- The slate ---------------------------------------------------------------------------- */

struct rgb {
    int r, g, b;
};

struct text_line {
    const char *text;
    int scale; /* pixels per font dot */
    int top;
    struct rgb colour;
};

/* Dutch first, English after (the product's rule for anything a person reads). */
static const struct text_line lines[] = {
    {"Een moment geduld alstublieft", 4, HOLDMEDIA_HEIGHT * 33 / 100, {244, 246, 248}},
    {"Please hold", 4, HOLDMEDIA_HEIGHT * 47 / 100, {176, 202, 222}},
};

#define DOTS 3
#define DOT_RADIUS 7
#define DOT_SPACING 32
#define DOT_TOP (HOLDMEDIA_HEIGHT * 64 / 100)

/* One character cell is the glyph and a one-dot gap. */
static int line_left(const struct text_line *l)
{
    int width = (int)strlen(l->text) * (GLYPH_W + 1) * l->scale - l->scale;
    return (HOLDMEDIA_WIDTH - width) / 2;
}

static bool text_pixel(const struct text_line *l, int x, int y)
{
    int left = line_left(l);
    if (y < l->top || y >= l->top + GLYPH_H * l->scale || x < left)
        return false;
    int cell = (x - left) / ((GLYPH_W + 1) * l->scale);
    if (cell >= (int)strlen(l->text))
        return false;
    int col = (x - left) / l->scale - cell * (GLYPH_W + 1);
    int row = (y - l->top) / l->scale;
    const struct glyph *g = glyph_of(l->text[cell]);
    return g && col < GLYPH_W && (g->rows[row] >> (GLYPH_W - 1 - col)) & 1;
}

/* Which dot is lit in frame `index`: each for a third of the loop. */
static int lit_dot(unsigned index)
{
    return (int)((index % HOLDMEDIA_VIDEO_FRAMES) * DOTS / HOLDMEDIA_VIDEO_FRAMES);
}

static struct rgb slate_pixel(int x, int y, unsigned index)
{
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        if (text_pixel(&lines[i], x, y))
            return lines[i].colour;
    int first = HOLDMEDIA_WIDTH / 2 - DOT_SPACING;
    for (int d = 0; d < DOTS; d++) {
        int dx = x - (first + d * DOT_SPACING), dy = y - (DOT_TOP + DOT_RADIUS);
        if (dx * dx + dy * dy <= DOT_RADIUS * DOT_RADIUS)
            return d == lit_dot(index) ? (struct rgb){200, 226, 242} : (struct rgb){58, 92, 118};
    }
    /* A calm blue-teal, a little lighter at the top. */
    int shade = 18 * (HOLDMEDIA_HEIGHT - y) / HOLDMEDIA_HEIGHT;
    return (struct rgb){16 + shade / 2, 40 + shade, 62 + shade};
}

/* BT.601 studio range, integer form. */
static uint8_t luma(struct rgb c)
{
    return (uint8_t)(((66 * c.r + 129 * c.g + 25 * c.b + 128) >> 8) + 16);
}

static uint8_t chroma_u(struct rgb c)
{
    return (uint8_t)(((-38 * c.r - 74 * c.g + 112 * c.b + 128) >> 8) + 128);
}

static uint8_t chroma_v(struct rgb c)
{
    return (uint8_t)(((112 * c.r - 94 * c.g - 18 * c.b + 128) >> 8) + 128);
}

void holdmedia_draw_slate(uint8_t *y, uint8_t *u, uint8_t *v, unsigned index)
{
    for (int row = 0; row < HOLDMEDIA_HEIGHT; row++) {
        for (int col = 0; col < HOLDMEDIA_WIDTH; col++) {
            struct rgb c = slate_pixel(col, row, index);
            y[row * HOLDMEDIA_WIDTH + col] = luma(c);
            if ((row & 1) == 0 && (col & 1) == 0) {
                size_t at = (size_t)(row / 2) * (HOLDMEDIA_WIDTH / 2) + (size_t)(col / 2);
                u[at] = chroma_u(c);
                v[at] = chroma_v(c);
            }
        }
    }
}

/* ---- The chime ---------------------------------------------------------------------------- */

#define RATE 48000.0f
#define LOOP_SAMPLES (HOLDMEDIA_AUDIO_FRAMES * HOLDMEDIA_AUDIO_FRAME_SAMPLES)

/* A struck note: a 10 ms attack, then a slow exponential decay, with a quiet octave above for
 * a bell-like colour. */
static float note(float t, float start, float freq)
{
    float s = t - start;
    if (s < 0)
        return 0;
    float env = s < 0.01f ? s / 0.01f : expf(-(s - 0.01f) / 0.45f);
    float w = 2.0f * (float)M_PI * freq * s;
    return env * (sinf(w) + 0.25f * sinf(2.0f * w));
}

int16_t holdmedia_chime_sample(uint32_t n)
{
    n %= LOOP_SAMPLES;
    float t = (float)n / RATE;
    /* E5 then C5, a gentle "ding-dong"; the rest of the 4 s is the decay and quiet. */
    float x = note(t, 0.20f, 659.25f) + note(t, 0.90f, 523.25f);
    /* The sum peaks below 1.6; scaled so the loudest sample stays under −20 dBFS. */
    float peak = powf(10.0f, (float)HOLDMEDIA_AUDIO_PEAK_DBFS / 20.0f);
    x *= peak / 1.6f;
    /* The last half second fades to silence, where the loop starts again. */
    float end = (float)LOOP_SAMPLES / RATE;
    if (t > end - 0.5f)
        x *= (end - t) / 0.5f;
    return (int16_t)lrintf(x * 32767.0f);
}
