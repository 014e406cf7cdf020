"""The lead image and the standfirst: the article's own picture, its largest size, never furniture."""

from __future__ import annotations

from workers.extraction import extract_article

BODY = " ".join(f"Sentence {i} of the council story says what the city decided about housing." for i in range(12))
URL = "https://news.example/2026/12/02/council.html"


def page(before: str = "", head: str = "", after: str = "") -> str:
    return (f"<html lang='en'><head><title>Council votes</title>{head}</head><body>"
            "<header><img src='/static/site-logo.png' alt='News'></header>"
            f"<article><h1>Council votes</h1>{before}<p>{BODY}</p><p>{BODY}</p>{after}</article>"
            "<footer><img src='/static/footer.jpg'></footer></body></html>")


def test_the_figure_before_the_first_paragraph_at_its_largest_size_with_caption_and_credit() -> None:
    figure = ("<figure><picture><source srcset='/img/council-800.webp 800w, /img/council-1600.webp 1600w'>"
              "<img src='/img/council-400.jpg' srcset='/img/council-400.jpg 400w, /img/council-1200.jpg 1200w'"
              " alt='The council chamber'></picture><figcaption>The council chamber on Monday."
              "<span class='credit'>Photo: A. Lens</span></figcaption></figure>")
    found = extract_article(page(figure, head="<meta property='og:image' content='/social/card.jpg'>"), URL)
    assert found.image_url == "https://news.example/img/council-1600.webp"
    assert found.image_caption == "The council chamber on Monday."
    assert found.image_credit == "Photo: A. Lens"


def test_logos_icons_pixels_and_teasers_are_not_the_lead_image() -> None:
    furniture = ("<img src='/img/pixel.gif' width='1' height='1'><img src='/img/share-icon.png'>"
                 "<div class='related-stories'><img src='/img/other-story.jpg'></div>"
                 "<img src='/img/tiny.jpg' width='60' height='40'>")
    found = extract_article(page(furniture, head="<meta property='og:image' content='/img/cover.jpg'>"), URL)
    assert found.image_url == "https://news.example/img/cover.jpg"  # the declared image, not furniture


def test_a_picture_after_the_text_is_not_the_cover_and_no_image_means_none() -> None:
    found = extract_article(page(after="<figure><img src='/img/late.jpg'></figure>"), URL)
    assert found.image_url is None and found.image_caption is None


def test_json_ld_image_and_the_declared_description() -> None:
    head = ("<script type='application/ld+json'>{\"@type\": \"NewsArticle\", \"headline\": \"Council votes\","
            " \"image\": [{\"url\": \"https://cdn.example/ld.jpg\"}]}</script>"
            "<meta name='description' content='  The council voted on housing.  '>")
    found = extract_article(page(head=head), URL)
    assert found.image_url == "https://cdn.example/ld.jpg" and found.sources["image"] == "json-ld"
    assert found.description == "The council voted on housing."
    assert found.to_json()["image_url"] == "https://cdn.example/ld.jpg"  # `transcrawl extract` output


def test_a_hero_above_the_article_container_counts_but_a_teaser_link_does_not() -> None:
    html = (f"<html><head><title>Council votes</title></head><body><nav><img src='/img/menu.jpg'></nav>"
            "<div class='story-top'><h1>Council votes</h1><a href='/other-story.html'><img src='/img/other.jpg'></a>"
            "<div class='media'><img src='/img/hero.jpg' alt='The chamber'></div></div>"
            f"<article><p>{BODY}</p><p>{BODY}</p></article></body></html>")
    found = extract_article(html, URL)
    assert found.image_url == "https://news.example/img/hero.jpg" and found.sources["image"] == "figure"


def test_a_hero_far_above_the_text_is_not_taken() -> None:
    html = (f"<html><head><title>Council votes</title></head><body><div><img src='/img/far.jpg'></div>"
            f"<div>{'Other words. ' * 100}</div><article><h1>Council votes</h1><p>{BODY}</p><p>{BODY}</p>"
            "</article></body></html>")
    assert extract_article(html, URL).image_url is None


def test_lazy_srcset_without_spaces_and_a_percent_width_give_the_largest_size() -> None:
    figure = ("<figure><img src='data:image/gif;base64,R0lGODlhAQABAAAAACw=' width='100%'"
              " data-srcset='/img/c.jpg?w=320,h=200 320w,/img/c.jpg?w=1280,h=800 1280w,/img/c.jpg?w=640,h=400 640w'>"
              "</figure>")
    assert extract_article(page(figure), URL).image_url == "https://news.example/img/c.jpg?w=1280,h=800"


def test_the_picture_after_the_standfirst_and_kicker_is_still_the_cover() -> None:
    standfirst = "The council voted on housing after a long night of debate in the chamber."
    before = (f"<p class='kicker'>Live</p><p class='standfirst'>{standfirst}</p>"
              "<figure><img src='/img/after-standfirst.jpg'></figure>")
    found = extract_article(page(before, head=f"<meta name='description' content='{standfirst}'>"), URL)
    assert found.image_url == "https://news.example/img/after-standfirst.jpg"


def test_a_featured_post_thumbnail_counts_and_an_author_photo_folder_does_not() -> None:
    before = ("<span><img src='/media/authors/jane-doe.jpg' width='150' height='150'></span>"
              "<figure class='wp-block-post-featured-image'><img class='attachment-post-thumbnail wp-post-image'"
              " src='/uploads/2026/12/chamber.jpg' width='1024' height='576'></figure>")
    assert extract_article(page(before), URL).image_url == "https://news.example/uploads/2026/12/chamber.jpg"


def test_a_picture_inside_the_block_that_holds_the_text_comes_before_it() -> None:
    html = ("<html><head><title>Council votes</title></head><body><div class='story'><h1>Council votes</h1>"
            f"<div class='text'><div><img src='/img/inline-lead.jpg'></div>{BODY}<br><br>{BODY}</div></div>"
            "</body></html>")
    assert extract_article(html, URL).image_url == "https://news.example/img/inline-lead.jpg"


def test_a_placeholder_or_the_publisher_logo_declared_as_the_image_is_skipped() -> None:
    logo = ("<script type='application/ld+json'>{\"@type\": \"NewsArticle\", \"headline\": \"Council votes\","
            " \"publisher\": {\"@type\": \"Organization\", \"logo\": {\"url\": \"https://news.example/brand.png\"}}}"
            "</script><meta property='og:image' content='https://news.example/brand.png'>")
    assert extract_article(page(head=logo), URL).image_url is None
    placeholder = ("<meta property='og:image' content='/static/default-share.jpg'>"
                   "<meta name='twitter:image' content='/img/council-cover.jpg'>")
    assert extract_article(page(head=placeholder), URL).image_url == "https://news.example/img/council-cover.jpg"
